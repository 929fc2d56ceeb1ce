// Labels as CSV: path,label,confidence,source (plus split), one row per labelled image.
import { CsvWriter } from '../../core/export/csv.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'labels', format: 'csv', output: 'file', extension: '.csv',
  description: 'CSV with path, label, confidence, source and split; one row per labelled image.',
  async write(sources, target) {
    const labels = sources.labels();
    const csv = new CsvWriter(target.file(), ['path', 'label', 'confidence', 'source', 'split']);
    for (const l of labels) csv.row([l.path, l.label, l.confidence, l.source, l.split ?? '']);
    csv.close();
    return { count: labels.length, details: { classes: new Set(labels.map((l) => l.label)).size } };
  },
};

export const labelsCsvExporter: Plugin<Exporter> = {
  manifest: { id: 'export-labels-csv', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Labels (CSV)', description: exporter.description },
  activate: () => exporter,
};
