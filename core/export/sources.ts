// ExportSources over a project's store: what exporters (built-in or third-party) may read.
import path from 'node:path';
import { getClustering, listClusterings } from '../cluster/store.ts';
import { readWeightArrays } from '../engine/checkpoint.ts';
import { readEmbeddings } from '../engine/embed.ts';
import type { EncoderMetadata } from '../engine/trainer.ts';
import { LoupeError } from '../errors.ts';
import type { ExportClusterMember, ExportImage, ExportLabel, ExportSources } from '../plugins/contract.ts';
import { getDataset } from '../store/datasets.ts';
import type { Project } from '../store/project.ts';
import { getRun, latestEmbedding, latestFinishedRun } from '../store/runs.ts';
import { IwsSessions } from '../weak/session.ts';
import { latestSession } from '../weak/store.ts';

export interface SourceChoice {
  datasetId: number;
  /** Training run for embeddings/encoder; the latest finished run of the dataset when absent. */
  runId?: number;
  /** Clustering for cluster exports; the latest of the dataset when absent. */
  clusteringId?: number;
}

const imageColumns = `i.id, i.path, i.rel_path AS relPath, i.width, i.height, i.split`;

export function exportSources(project: Project, choice: SourceChoice): ExportSources {
  const db = project.db;
  const dataset = getDataset(db, choice.datasetId);

  const runId = (): number => {
    if (choice.runId !== undefined) {
      const run = getRun(db, choice.runId);
      if (run.datasetId !== dataset.id) throw new LoupeError('invalid-input', `Run ${run.id} was trained on another dataset.`);
      return run.id;
    }
    const finished = latestFinishedRun(db, dataset.id);
    if (!finished) {
      throw new LoupeError('not-found', `Dataset "${dataset.name}" has no finished training run.`, {
        hint: 'Pretrain an encoder first (Train view, or loupe train), then export.',
      });
    }
    return finished.id;
  };

  return {
    dataset: { id: dataset.id, name: dataset.name, root: dataset.root },
    images: () => db.prepare(`SELECT ${imageColumns} FROM images i WHERE i.dataset_id = ? AND i.status = 'ok' ORDER BY i.id`).all(dataset.id) as ExportImage[],
    labels: () => db.prepare(`
      SELECT ${imageColumns}, c.name AS label, l.confidence, l.source
      FROM labels l JOIN classes c ON c.id = l.class_id JOIN images i ON i.id = l.image_id
      WHERE i.dataset_id = ? AND i.status = 'ok'
      ORDER BY i.id, CASE l.source WHEN 'human' THEN 0 WHEN 'import' THEN 1 WHEN 'cluster' THEN 2 WHEN 'label-model' THEN 3 ELSE 4 END, l.confidence DESC`)
      .all(dataset.id)
      .filter((row, i, all) => i === 0 || (row as ExportLabel).id !== (all[i - 1] as ExportLabel).id) as ExportLabel[],
    classNames: () => (db.prepare('SELECT name FROM classes WHERE dataset_id = ? ORDER BY name').all(dataset.id) as { name: string }[]).map((r) => r.name),
    embedding: () => {
      const id = runId();
      const row = latestEmbedding(db, id);
      if (!row) throw new LoupeError('not-found', `Run ${id} has no embeddings yet.`, { hint: `Embed the dataset first (Embed button, or loupe embed --run ${id}).` });
      const emb = readEmbeddings(project, row);
      return { runId: id, imageIds: emb.imageIds, dim: row.dim, features: emb.features };
    },
    encoder: () => {
      const id = runId();
      const run = getRun(db, id);
      if (!run.encoder) throw new LoupeError('invalid-input', `Run ${id} has not finished training, so it has no encoder yet.`);
      const { arrays, metadata } = readWeightArrays<EncoderMetadata>(path.join(project.dir, run.encoder));
      return { runId: id, method: metadata.method, config: metadata.encoder, tensors: arrays, normalization: metadata.normalization };
    },
    lfVotes: (which) => {
      const session = latestSession(db, dataset.id);
      if (!session) throw new LoupeError('not-found', `Dataset "${dataset.name}" has no weak-supervision session.`, { hint: 'Start one in the Label view (Prepare rules), then export.' });
      return new IwsSessions(project).votes(session.id, which);
    },
    clustering: () => {
      const id = choice.clusteringId ?? listClusterings(db, dataset.id)[0]?.id;
      if (id === undefined) throw new LoupeError('not-found', `Dataset "${dataset.name}" has not been clustered.`, { hint: 'Cluster it first (Explore view, or loupe cluster).' });
      const c = getClustering(db, id);
      if (c.datasetId !== dataset.id) throw new LoupeError('invalid-input', `Clustering ${id} belongs to another dataset.`);
      const members = db.prepare(`
        SELECT ${imageColumns}, m.head, m.cluster, k.name AS clusterName, m.confidence, m.outlier
        FROM cluster_members m JOIN images i ON i.id = m.image_id
        LEFT JOIN clusters k ON k.clustering_id = m.clustering_id AND k.idx = m.cluster AND m.head = 0
        WHERE m.clustering_id = ? ORDER BY m.head, i.id`).all(id) as (ExportClusterMember & { outlier: number | boolean })[];
      for (const m of members) m.outlier = Boolean(m.outlier);
      return { id, algo: c.algo, k: c.k, heads: c.heads, members: members as ExportClusterMember[] };
    },
  };
}
