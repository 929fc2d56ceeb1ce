// Clustering as a job of the runner (progress, cancel; a crash re-runs it from the start, which
// is safe: a clustering is saved in one transaction at the end), and nearest neighbours of an
// image in an embedding, for the explorer.
import { readEmbeddings } from '../engine/embed.ts';
import { LoupeError } from '../errors.ts';
import type { JobKind } from '../jobs/runner.ts';
import type { Project } from '../store/project.ts';
import { getEmbedding } from '../store/runs.ts';
import { clusterEmbeddings, type ClusterParams, type ClusterResult } from './run.ts';

export function clusterJobKind(project: Project): JobKind<ClusterParams, ClusterResult> {
  return {
    kind: 'cluster',
    resumable: true,
    title: ({ algo, k }) => `Cluster into ${k} concepts (${algo === 'sela' ? 'SeLa' : algo === 'sk' ? 'balanced k-means' : 'k-means'})`,
    run: (ctx) => clusterEmbeddings(project, ctx.params, { signal: ctx.signal, progress: ctx.progress }),
  };
}

/** The k images most similar (cosine) to one image in an embedding. */
export function nearestImages(project: Project, embeddingId: number, imageId: number, k: number): { imageId: number; similarity: number }[] {
  const row = getEmbedding(project.db, embeddingId);
  const { imageIds, features } = readEmbeddings(project, row);
  const d = row.dim, q = imageIds.indexOf(imageId);
  if (q < 0) throw new LoupeError('not-found', `Image ${imageId} is not in this embedding.`, { hint: 'Embed the images again with the run.' });
  const norm = (i: number) => Math.sqrt(features.subarray(i * d, (i + 1) * d).reduce((s, v) => s + v * v, 0)) || 1;
  const qn = norm(q);
  const sims = imageIds.map((id, i) => {
    let dot = 0;
    for (let j = 0; j < d; j++) dot += features[i * d + j]! * features[q * d + j]!;
    return { imageId: id, similarity: dot / (qn * norm(i)) };
  });
  return sims.filter((s) => s.imageId !== imageId).sort((a, b) => b.similarity - a.similarity).slice(0, k);
}
