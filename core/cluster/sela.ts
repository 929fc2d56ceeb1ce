// Balanced clustering of stored embeddings (DESIGN §5):
// - `skClustering`: spherical k-means whose assignment step is the Sinkhorn equipartition of the
//   cosine similarities (λ·cos), so no cluster swallows the data or dies;
// - `selaHeads`: SeLa's self-labelling (Asano et al. 2020) on a frozen encoder: H clustering heads
//   (an MLP each) on the features; labels start as a random equipartition, are re-solved by
//   Sinkhorn-Knopp on each head's log-probabilities on a schedule denser early on (t ∝ (i/U)²),
//   and the heads learn them by cross-entropy in between.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/rng.ts';
import { l2normalizeRows } from '../learn/vectors.ts';
import { kmeans, nearestCentroids } from './kmeans.ts';
import { sinkhorn } from './sinkhorn.ts';

export interface Clustering {
  labels: Int32Array;
  confidence: Float32Array;
  /** k × dim unit centroids (or prototypes) in the embedding space. */
  centroids: Float32Array;
}

function centroidsOf(x: Float32Array, dim: number, labels: Int32Array, k: number): Float32Array {
  const sums = new Float64Array(k * dim);
  for (let i = 0; i < labels.length; i++) for (let j = 0; j < dim; j++) sums[labels[i]! * dim + j]! += x[i * dim + j]!;
  const out = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += sums[c * dim + j]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < dim; j++) out[c * dim + j] = sums[c * dim + j]! / norm;
  }
  return out;
}

/**
 * Target cluster sizes of the balanced assignment: 'equal' is SeLa's equipartition; 'found' keeps
 * the sizes k-means found (for collections where some concepts are far more common than others,
 * where an equipartition would split the common ones and pad the rare ones).
 */
export type ClusterSizes = 'equal' | 'found';

export async function skClustering(features: Float32Array, dim: number, options: { k: number; lambda?: number; iterations?: number; seed?: number; sizes?: ClusterSizes; columnMarginals?: number[] }): Promise<Clustering> {
  const { k } = options;
  const n = features.length / dim;
  const x = l2normalizeRows(features, dim);
  // Start from the k-means baseline itself (same restarts and seed): the equipartition then refines
  // the best unconstrained solution rather than a weaker single start.
  const start = await kmeans(features, dim, { k, restarts: 5, seed: options.seed ?? 0 });
  let centroids: Float32Array = start.centroids;
  let marginals = options.columnMarginals;
  if (!marginals && options.sizes === 'found') {
    const found = new Array<number>(k).fill(0);
    for (const l of start.labels) found[l]!++;
    marginals = found.map((s) => Math.max(s, 1));
  }
  let result: { labels: Int32Array; confidence: Float32Array } = { labels: new Int32Array(n), confidence: new Float32Array(n) };
  const xt = tf.tensor2d(x, [n, dim]);
  try {
    for (let it = 0; it < (options.iterations ?? 10); it++) {
      const c = tf.tensor2d(centroids, [k, dim]);
      const sims = tf.matMul(xt, c, false, true);
      const logits = (await sims.data()) as Float32Array;
      tf.dispose([c, sims]);
      const sk = sinkhorn(logits, k, { lambda: options.lambda ?? 25, ...(marginals ? { columnMarginals: marginals } : {}), inPlace: false });
      const changed = sk.labels.reduce((s, l, i) => s + (l !== result.labels[i] ? 1 : 0), 0);
      result = { labels: sk.labels, confidence: sk.confidence };
      centroids = centroidsOf(x, dim, sk.labels, k);
      if (changed / n < 1e-3) break;
    }
  } finally {
    xt.dispose();
  }
  return { ...result, centroids };
}

export interface SelaOptions {
  k: number;
  heads?: number;
  /** Passes over the data in all. */
  epochs?: number;
  /** Times the labels are re-solved by Sinkhorn-Knopp. */
  labelUpdates?: number;
  lambda?: number;
  hidden?: number;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface SelaResult {
  heads: Clustering[];
  /** Sinkhorn solves that ran. */
  labelUpdates: number;
}

export async function selaHeads(features: Float32Array, dim: number, options: SelaOptions): Promise<SelaResult> {
  const k = options.k, heads = options.heads ?? 3, epochs = options.epochs ?? 40;
  const updates = Math.max(1, options.labelUpdates ?? 12), hidden = options.hidden ?? 256, batch = options.batchSize ?? 256;
  const n = features.length / dim;
  const x = l2normalizeRows(features, dim);
  const rng = Rng.derive(options.seed ?? 0, 'sela');
  const xt = tf.tensor2d(x, [n, dim]);
  // Heads: dim → hidden (BN-free MLP, ReLU) → k; features are frozen, so the heads do the work.
  const params = Array.from({ length: heads }, () => ({
    w1: tf.variable(tf.randomNormal([dim, hidden], 0, Math.sqrt(2 / dim), 'float32', rng.seed())),
    b1: tf.variable(tf.zeros([hidden])),
    w2: tf.variable(tf.randomNormal([hidden, k], 0, Math.sqrt(1 / hidden), 'float32', rng.seed())),
    b2: tf.variable(tf.zeros([k])),
  }));
  const forward = (h: (typeof params)[number], input: tf.Tensor2D) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(input, h.w1), h.b1)), h.w2), h.b2) as tf.Tensor2D;
  // Labels start as a random equipartition.
  const labels: Int32Array[] = params.map(() => Int32Array.from(rng.shuffle(Array.from({ length: n }, (_, i) => i % k))));
  const confidence: Float32Array[] = params.map(() => new Float32Array(n).fill(1 / k));
  const optimizer = tf.train.momentum(options.learningRate ?? 0.05, 0.9);
  const stepsPerEpoch = Math.ceil(n / batch), totalSteps = epochs * stepsPerEpoch;
  // Solve times ∝ (i/U)², as in the reference: dense early, when the heads change fastest.
  const solveAt = new Set(Array.from({ length: updates }, (_, i) => Math.floor(((i + 1) / updates) ** 2 * totalSteps)).filter((s) => s < totalSteps));
  let solves = 0;
  const solve = async () => {
    for (let h = 0; h < heads; h++) {
      const logp = new Float32Array(n * k);
      for (let start = 0; start < n; start += 8192) {
        const rows = Math.min(8192, n - start);
        const out = tf.tidy(() => tf.logSoftmax(forward(params[h]!, tf.slice(xt, [start, 0], [rows, dim]) as tf.Tensor2D)));
        logp.set(await out.data() as Float32Array, start * k);
        out.dispose();
      }
      const sk = sinkhorn(logp, k, { lambda: options.lambda ?? 25, inPlace: false });
      labels[h] = sk.labels;
      confidence[h] = sk.confidence;
    }
    solves++;
  };
  try {
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      for (let start = 0; start < n; start += batch, step++) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (solveAt.has(step)) await solve();
        const idx = order.slice(start, start + batch);
        const idxT = tf.tensor1d(idx, 'int32');
        const targets = labels.map((l) => tf.tensor1d(Int32Array.from(idx, (i) => l[i]!), 'int32'));
        const loss = optimizer.minimize(() => {
          const xb = tf.gather(xt, idxT) as tf.Tensor2D;
          const terms = params.map((h, hi) => tf.losses.softmaxCrossEntropy(tf.oneHot(targets[hi]!, k), forward(h, xb)));
          return tf.div(tf.addN(terms), heads) as tf.Scalar;
        }, true);
        loss?.dispose();
        tf.dispose([idxT, ...targets]);
        if (step % 20 === 0) {
          options.onProgress?.(step, totalSteps);
          await new Promise((r) => setImmediate(r));
        }
      }
    }
    await solve();
    const result: Clustering[] = labels.map((l, h) => ({ labels: l, confidence: confidence[h]!, centroids: centroidsOf(x, dim, l, k) }));
    return { heads: result, labelUpdates: solves };
  } finally {
    xt.dispose();
    optimizer.dispose();
    tf.dispose(params.flatMap((p) => [p.w1, p.b1, p.w2, p.b2]));
  }
}

export { nearestCentroids };
