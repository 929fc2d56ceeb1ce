// Clustering as a job on stored embeddings: k-means (baseline), Sinkhorn-balanced k-means, or
// SeLa heads; assignments, confidences and centroids stored per clustering; NMI / ARI / Hungarian
// accuracy when the dataset has labels. Also the 2-D map (UMAP) of an embedding, cached.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadNativeKernels } from '../engine/backends/native-kernels.ts';
import { activateBackend } from '../engine/backends/select.ts';
import { embeddingImageIds, embedRun, readEmbeddings } from '../engine/embed.ts';
import { loadLabels } from '../engine/labels.ts';
import { LoupeError } from '../errors.ts';
import { l2normalizeRows } from '../learn/vectors.ts';
import type { Project } from '../store/project.ts';
import { getEmbedding, getRun, latestEmbedding, latestFinishedRun, type EmbeddingRow } from '../store/runs.ts';
import { kmeans } from './kmeans.ts';
import { scoreClustering, type ClusterScores } from './metrics.ts';
import { selaHeads, skClustering, type ClusterSizes, type Clustering } from './sela.ts';
import { assignments, getClustering, saveClustering, splitCluster, type ClusterAlgo } from './store.ts';
import { nativeUmap } from './umap.ts';
import type { UmapJsWorkerData, UmapJsWorkerMessage } from './umap-js-worker-main.ts';

export interface ClusterParams {
  runId?: number;
  algo: ClusterAlgo;
  k: number;
  heads?: number;
  seed?: number;
  /** Balanced k-means only: equal sizes (default) or the sizes k-means found. */
  sizes?: ClusterSizes;
}

export interface ClusterResult {
  clusteringId: number;
  embeddingId: number;
  algo: ClusterAlgo;
  k: number;
  sizes: number[];
  scores: (ClusterScores & { perHead?: ClusterScores[] }) | null;
  seconds: number;
}

interface Io { signal?: AbortSignal; progress?(done: number, total: number | null, metrics?: Record<string, string | number>): void }

/** The newest embedding of a run (the newest finished run by default), embedding first if there is none. */
export async function embeddingFor(project: Project, runId: number | undefined, io: Io = {}): Promise<EmbeddingRow> {
  const run = runId !== undefined ? getRun(project.db, runId) : latestFinishedRun(project.db);
  if (!run) throw new LoupeError('not-found', 'No trained encoder to cluster with.', { hint: 'Train a run first (Train view, or `loupe train`).' });
  if (!run.encoder) throw new LoupeError('conflict', `Run ${run.id} has not finished training.`, { hint: 'Resume it, or pick a finished run.' });
  let row = latestEmbedding(project.db, run.id);
  if (!row) {
    io.progress?.(0, null, { phase: 'Embedding images' });
    await embedRun(project, run.id, { ...(io.signal ? { signal: io.signal } : {}), progress: (d, t) => io.progress?.(d, t, { phase: 'Embedding images' }) });
    row = latestEmbedding(project.db, run.id)!;
  }
  return row;
}

export async function clusterEmbeddings(project: Project, params: ClusterParams, io: Io = {}): Promise<ClusterResult> {
  await activateBackend(); // the fastest backend for k-means and Sinkhorn, whatever ran before in this process
  const started = performance.now();
  const row = await embeddingFor(project, params.runId, io);
  const emb = readEmbeddings(project, row);
  const n = emb.imageIds.length, dim = row.dim;
  if (!(params.k >= 2) || params.k > n) throw new LoupeError('invalid-input', `The number of clusters must be between 2 and ${n}.`);
  io.progress?.(0, null, { phase: `Clustering (${params.algo})` });
  let heads: Clustering[];
  if (params.algo === 'kmeans') heads = [await kmeans(emb.features, dim, { k: params.k, restarts: 5, seed: params.seed ?? 0, ...(io.signal ? { signal: io.signal } : {}) })];
  else if (params.algo === 'sk') heads = [await skClustering(emb.features, dim, { k: params.k, seed: params.seed ?? 0, sizes: params.sizes ?? 'equal' })];
  else {
    heads = (await selaHeads(emb.features, dim, {
      k: params.k, heads: params.heads ?? 3, seed: params.seed ?? 0, ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (d, t) => io.progress?.(d, t, { phase: 'Self-labelling (SeLa)' }),
    })).heads;
  }
  const labels = loadLabels(project.db, row.datasetId);
  let scores: ClusterResult['scores'] = null;
  if (labels.classNames.length >= 2) {
    const truth = Int32Array.from(emb.imageIds, (id) => labels.byImage.get(id) ?? -1);
    const perHead = heads.map((h) => scoreClustering(h.labels, truth));
    scores = { ...perHead[0]!, ...(heads.length > 1 ? { perHead } : {}) };
  }
  const clusteringId = saveClustering(project.db, { datasetId: row.datasetId, embeddingId: row.id, algo: params.algo, k: params.k, params: { ...params }, scores }, emb.imageIds, heads);
  const sizes = new Array<number>(params.k).fill(0);
  for (const l of heads[0]!.labels) sizes[l]!++;
  return { clusteringId, embeddingId: row.id, algo: params.algo, k: params.k, sizes, scores, seconds: (performance.now() - started) / 1000 };
}

/** Splits a cluster in two by k-means inside it (on the clustering's embedding); returns the new cluster. */
export async function splitByReclustering(project: Project, clusteringId: number, idx: number): Promise<number> {
  const c = getClustering(project.db, clusteringId);
  const row = getEmbedding(project.db, c.embeddingId);
  const emb = readEmbeddings(project, row);
  const a = assignments(project.db, clusteringId);
  const rowOf = new Map(emb.imageIds.map((id, i) => [id, i]));
  const members = a.imageIds.filter((_, i) => a.clusters[i] === idx);
  if (members.length < 4) throw new LoupeError('invalid-input', 'This cluster is too small to split.');
  const x = new Float32Array(members.length * row.dim);
  members.forEach((id, i) => x.set(emb.features.subarray(rowOf.get(id)! * row.dim, (rowOf.get(id)! + 1) * row.dim), i * row.dim));
  const km = await kmeans(x, row.dim, { k: 2, restarts: 3, seed: idx });
  const second = members.filter((_, i) => km.labels[i] === 1);
  return splitCluster(project.db, clusteringId, idx, second);
}

export interface MapData {
  imageIds: number[];
  /** x, y per image, scaled into [−1, 1]. */
  coords: Float32Array;
}

/** The UMAP layout of an embedding (cached in the project next to the embedding file). */
export async function embeddingMap(project: Project, embeddingId: number, io: Io = {}): Promise<MapData> {
  const cached = project.db.prepare('SELECT file FROM maps WHERE embedding_id = ? ORDER BY id DESC LIMIT 1').get(embeddingId) as { file: string } | undefined;
  const row = getEmbedding(project.db, embeddingId);
  if (cached && fs.existsSync(path.join(project.dir, cached.file))) {
    // A cached map needs only the row order, not the feature matrix.
    const buf = fs.readFileSync(path.join(project.dir, cached.file));
    return { imageIds: embeddingImageIds(project, row), coords: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) };
  }
  const emb = readEmbeddings(project, row);
  const coords = await umapLayout(emb.features, row.dim, io);
  const rel = row.file.replace(/\.f32$/, '.umap.f32');
  fs.writeFileSync(path.join(project.dir, `${rel}.tmp`), Buffer.from(coords.buffer));
  fs.renameSync(path.join(project.dir, `${rel}.tmp`), path.join(project.dir, rel));
  project.db.prepare('INSERT INTO maps (embedding_id, file, params) VALUES (?, ?, ?)').run(embeddingId, rel, JSON.stringify({ method: 'umap', nNeighbors: 15, minDist: 0.1 }));
  return { imageIds: emb.imageIds, coords };
}

/**
 * UMAP of L2-normalised features, scaled into [−1, 1]. With the native kernels: `umap.ts` (exact
 * neighbours, native epochs, ~5× faster), yielding to the event loop between epochs for progress
 * and cancel; without them, umap-js in a thread of its own.
 */
export async function umapLayout(features: Float32Array, dim: number, io: Io = {}, options: { nEpochs?: number; seed?: number; path?: 'auto' | 'umap-js' } = {}): Promise<Float32Array> {
  const n = features.length / dim;
  const x = l2normalizeRows(features, dim);
  const load = loadNativeKernels();
  const kernels = options.path !== 'umap-js' && load.ok && load.kernels.knnExact && load.kernels.umapEpochs ? { knnExact: load.kernels.knnExact, umapEpochs: load.kernels.umapEpochs } : null;
  const y = kernels && n > 2 ? await nativeUmap(x, n, dim, kernels, io, options) : await umapJsLayout(x, n, dim, io, options);
  // Scale by the 0.5–99.5 percentiles, not min/max: a few far outliers would otherwise squeeze
  // the whole map into the middle of the view. The outliers are clamped to the edge.
  const out = new Float32Array(n * 2);
  const lo: number[] = [], hi: number[] = [];
  for (const axis of [0, 1]) {
    const v = Float32Array.from({ length: n }, (_, i) => y[2 * i + axis]!).sort();
    lo.push(v[Math.floor(0.005 * (n - 1))]!);
    hi.push(v[Math.ceil(0.995 * (n - 1))]!);
  }
  const span = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!) || 1;
  const mid = [(lo[0]! + hi[0]!) / 2, (lo[1]! + hi[1]!) / 2];
  for (let i = 0; i < n; i++) {
    out[2 * i] = Math.max(-1, Math.min(1, ((y[2 * i]! - mid[0]!) / span) * 1.9));
    out[2 * i + 1] = Math.max(-1, Math.min(1, ((y[2 * i + 1]! - mid[1]!) / span) * 1.9));
  }
  return out;
}

/**
 * The umap-js thread's entry: from sources, core/cluster/umap-js-worker.mjs (a tsx bootstrap); in
 * the Electron bundle, electron/dist/umap-js-worker.mjs beside main.mjs (scripts/build.mjs).
 */
function umapJsWorkerEntry(): URL {
  return new URL('./umap-js-worker.mjs', import.meta.url);
}

/** umap-js, the fallback without native kernels, in its own thread (umap-js-worker-main.ts says why). */
function umapJsLayout(x: Float32Array, n: number, dim: number, io: Io, options: { nEpochs?: number; seed?: number }): Promise<Float32Array> {
  const phase = 'Laying out the map (UMAP)';
  io.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const data: UmapJsWorkerData = { x, n, dim, seed: options.seed ?? 0, ...(options.nEpochs ? { nEpochs: options.nEpochs } : {}) };
    const worker = new Worker(umapJsWorkerEntry(), { workerData: data });
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      io.signal?.removeEventListener('abort', onAbort);
      f();
    };
    const onAbort = () => finish(() => {
      void worker.terminate();
      reject(io.signal!.reason);
    });
    io.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: UmapJsWorkerMessage) => {
      if (m.type === 'progress') io.progress?.(m.done, m.total, { phase });
      else if (m.type === 'done') finish(() => resolve(m.y));
      else finish(() => reject(new LoupeError('internal', `The map could not be laid out: ${m.message}`)));
    });
    worker.on('error', (err) => finish(() => reject(new LoupeError('internal', `The map's thread failed: ${err.message}`, { cause: err }))));
    worker.on('exit', (code) => finish(() => reject(new LoupeError('internal', `The map's thread stopped unexpectedly (exit code ${code}).`, { hint: 'Compute the map again.' }))));
  });
}
