// Embeddings as one Parquet table: image_id, path, rel_path, split, then one float column per
// dimension (e0, e1, …), the layout pandas, polars, DuckDB and Spark read straight into a frame.
// hyparquet-writer: pure JS, no native code, maintained by the hyparquet authors.
import fs from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'embeddings', format: 'parquet', output: 'file', extension: '.parquet',
  description: 'Parquet table: image id, path, split, and one float column per dimension (e0, e1, …).',
  async write(sources, target) {
    const emb = sources.embedding();
    const byId = new Map(sources.images().map((im) => [im.id, im]));
    const n = emb.imageIds.length, d = emb.dim;
    const columns: { name: string; data: unknown[]; type: 'INT32' | 'STRING' | 'FLOAT' }[] = [
      { name: 'image_id', data: emb.imageIds, type: 'INT32' },
      { name: 'path', data: emb.imageIds.map((id) => byId.get(id)?.path ?? ''), type: 'STRING' },
      { name: 'rel_path', data: emb.imageIds.map((id) => byId.get(id)?.relPath ?? ''), type: 'STRING' },
      { name: 'split', data: emb.imageIds.map((id) => byId.get(id)?.split ?? ''), type: 'STRING' },
    ];
    for (let j = 0; j < d; j++) {
      const col = new Array<number>(n);
      for (let i = 0; i < n; i++) col[i] = emb.features[i * d + j]!;
      columns.push({ name: `e${j}`, data: col, type: 'FLOAT' });
    }
    fs.writeFileSync(target.file(), new Uint8Array(parquetWriteBuffer({ columnData: columns as never })));
    return { count: n, details: { dim: d, runId: emb.runId } };
  },
};

export const embeddingsParquetExporter: Plugin<Exporter> = {
  manifest: { id: 'export-embeddings-parquet', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Embeddings (Parquet)', description: exporter.description },
  activate: () => exporter,
};
