// umap-js in a thread of its own: the map's fallback when the native kernels are missing. umap-js
// finds neighbours (NN-descent) in one synchronous call, seconds at 10,000 points and minutes at
// 100,000; on the host's thread that froze the app (Electron's main process, or the HTTP server)
// for as long. Here the host stays responsive, and cancelling ends the thread at once.
import { parentPort, workerData } from 'node:worker_threads';
import { UMAP } from 'umap-js';
import { Rng } from '../engine/rng.ts';

export interface UmapJsWorkerData {
  /** L2-normalised rows, n × dim. */
  x: Float32Array;
  n: number;
  dim: number;
  nEpochs?: number;
  seed: number;
}

export type UmapJsWorkerMessage =
  | { type: 'progress'; done: number; total: number | null }
  | { type: 'done'; y: Float32Array }
  | { type: 'error'; message: string };

const { x, n, dim, nEpochs, seed } = workerData as UmapJsWorkerData;
const post = (m: UmapJsWorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
try {
  const rows: number[][] = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));
  const rng = new Rng(seed);
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, n - 1), minDist: 0.1, random: () => rng.next(), ...(nEpochs ? { nEpochs } : {}) });
  post({ type: 'progress', done: 0, total: null });
  const epochs = umap.initializeFit(rows);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (e % 10 === 0) post({ type: 'progress', done: e, total: epochs });
  }
  const y = new Float32Array(n * 2);
  umap.getEmbedding().forEach((p, i) => { y[2 * i] = p[0]!; y[2 * i + 1] = p[1]!; });
  post({ type: 'done', y }, [y.buffer]);
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
} finally {
  parentPort!.close();
}
