// Cluster assignments as CSV: one row per image and clustering head, with the cluster's name
// (when the expert gave one), the assignment confidence and the outlier mark.
import { CsvWriter } from '../../core/export/csv.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'clusters', format: 'csv', output: 'file', extension: '.csv',
  description: 'CSV with path, image id, head, cluster, cluster name, confidence and outlier mark.',
  async write(sources, target) {
    const c = sources.clustering();
    const csv = new CsvWriter(target.file(), ['path', 'image_id', 'head', 'cluster', 'cluster_name', 'confidence', 'outlier']);
    for (const m of c.members) csv.row([m.path, m.id, m.head, m.cluster, m.clusterName ?? '', m.confidence, m.outlier ? 1 : 0]);
    csv.close();
    return { count: c.members.length, details: { clusteringId: c.id, algo: c.algo, k: c.k, heads: c.heads } };
  },
};

export const clustersCsvExporter: Plugin<Exporter> = {
  manifest: { id: 'export-clusters-csv', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Clusters (CSV)', description: exporter.description },
  activate: () => exporter,
};
