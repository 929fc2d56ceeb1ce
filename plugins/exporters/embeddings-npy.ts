// Embeddings as a NumPy matrix [images, dim] (float32) with a CSV row index beside it:
// `np.load("emb.npy")` and `pd.read_csv("emb.csv")` line up row for row.
import { CsvWriter } from '../../core/export/csv.ts';
import { writeNpy } from '../../core/export/npy.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'embeddings', format: 'npy', output: 'file', extension: '.npy', sidecars: ['.csv'],
  description: 'NumPy float32 matrix (one row per image) plus a CSV of row, image id and path.',
  async write(sources, target, _options, io) {
    const emb = sources.embedding();
    const byId = new Map(sources.images().map((im) => [im.id, im]));
    const n = emb.imageIds.length;
    writeNpy(target.file(), emb.features, [n, emb.dim]);
    const csv = new CsvWriter(target.sidecar('.csv'), ['row', 'image_id', 'path', 'rel_path', 'split']);
    emb.imageIds.forEach((id, row) => {
      const im = byId.get(id);
      csv.row([row, id, im?.path ?? '', im?.relPath ?? '', im?.split ?? '']);
      if (row % 10000 === 0) io.progress(row, n);
    });
    csv.close();
    return { count: n, details: { dim: emb.dim, runId: emb.runId } };
  },
};

export const embeddingsNpyExporter: Plugin<Exporter> = {
  manifest: { id: 'export-embeddings-npy', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Embeddings (.npy)', description: exporter.description },
  activate: () => exporter,
};
