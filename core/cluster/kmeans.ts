// k-means on embeddings, the baseline SeLa must beat (DESIGN §5): k-means++ seeding, Lloyd
// iterations, several restarts keeping the lowest inertia. Features are L2-normalised first
// (cosine geometry, as the kNN monitor uses). Distances go through tfjs matMul, so the active
// backend (native GEMM, WebGPU) does the heavy part; seeding and bookkeeping are plain loops.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/rng.ts';
import { l2normalizeRows } from '../learn/vectors.ts';

export interface KMeansOptions {
  k: number;
  restarts?: number;
  maxIterations?: number;
  seed?: number;
  /** Stop when fewer than this fraction of points change cluster. */
  tolerance?: number;
  signal?: AbortSignal;
}

export interface KMeansResult {
  labels: Int32Array;
  centroids: Float32Array;
  /** Cosine similarity of each point to its centroid's direction, in [−1, 1]. */
  confidence: Float32Array;
  inertia: number;
  iterations: number;
}

/** Nearest centroid (max dot product on unit vectors) for every row, in blocks. */
export async function nearestCentroids(x: tf.Tensor2D, centroids: Float32Array, k: number): Promise<{ labels: Int32Array; similarity: Float32Array }> {
  const n = x.shape[0], dim = x.shape[1];
  const c = tf.tensor2d(centroids, [k, dim]);
  const labels = new Int32Array(n), similarity = new Float32Array(n);
  try {
    for (let start = 0; start < n; start += 8192) {
      const rows = Math.min(8192, n - start);
      const [idx, val] = tf.tidy(() => {
        const s = tf.matMul(tf.slice(x, [start, 0], [rows, dim]), c, false, true);
        return [tf.argMax(s, 1), tf.max(s, 1)];
      });
      labels.set(await idx!.data() as Int32Array, start);
      similarity.set(await val!.data() as Float32Array, start);
      tf.dispose([idx!, val!]);
    }
  } finally {
    c.dispose();
  }
  return { labels, similarity };
}

function seedPlusPlus(x: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  const centroids = new Float32Array(k * dim);
  const first = rng.int(n);
  centroids.set(x.subarray(first * dim, (first + 1) * dim), 0);
  const d2 = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    const prev = centroids.subarray((c - 1) * dim, c * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += x[i * dim + j]! * prev[j]!;
      const d = Math.max(0, 2 - 2 * dot);
      if (d < d2[i]!) d2[i] = d;
      total += d2[i]!;
    }
    let target = rng.next() * total, pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= d2[i]!;
      if (target <= 0) {
        pick = i;
        break;
      }
    }
    centroids.set(x.subarray(pick * dim, (pick + 1) * dim), c * dim);
  }
  return centroids;
}

export async function kmeans(features: Float32Array, dim: number, options: KMeansOptions): Promise<KMeansResult> {
  const { k } = options;
  const n = features.length / dim;
  if (k < 2 || k > n) throw new Error(`k must be between 2 and the number of images (${n})`);
  const x = l2normalizeRows(features, dim);
  const xt = tf.tensor2d(x, [n, dim]);
  let best: KMeansResult | null = null;
  try {
    for (let restart = 0; restart < (options.restarts ?? 3); restart++) {
      const rng = Rng.derive(options.seed ?? 0, 'kmeans', restart);
      // k-means++ on a sample keeps seeding O(sample·k) for large N.
      const sampleRows = n > 20_000 ? rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, 20_000) : null;
      const sample = sampleRows ? Float32Array.from(sampleRows.flatMap((r) => Array.from(x.subarray(r * dim, (r + 1) * dim)))) : x;
      let centroids = seedPlusPlus(sample, sample.length / dim, dim, k, rng);
      let labels: Int32Array = new Int32Array(n).fill(-1), similarity: Float32Array = new Float32Array(n), iterations = 0;
      for (; iterations < (options.maxIterations ?? 50); iterations++) {
        if (options.signal?.aborted) throw options.signal.reason;
        const next = await nearestCentroids(xt, centroids, k);
        let changed = 0;
        for (let i = 0; i < n; i++) if (next.labels[i] !== labels[i]) changed++;
        labels = next.labels;
        similarity = next.similarity;
        // Spherical k-means: the centroid is the normalised mean; an empty cluster takes the worst-fit point.
        const sums = new Float64Array(k * dim), counts = new Int32Array(k);
        for (let i = 0; i < n; i++) {
          const l = labels[i]!;
          counts[l]!++;
          for (let j = 0; j < dim; j++) sums[l * dim + j]! += x[i * dim + j]!;
        }
        const fresh = new Float32Array(k * dim);
        for (let c = 0; c < k; c++) {
          if (counts[c] === 0) {
            let worst = 0;
            for (let i = 1; i < n; i++) if (similarity[i]! < similarity[worst]!) worst = i;
            fresh.set(x.subarray(worst * dim, (worst + 1) * dim), c * dim);
            similarity[worst] = 1;
            continue;
          }
          let norm = 0;
          for (let j = 0; j < dim; j++) norm += sums[c * dim + j]! ** 2;
          norm = Math.sqrt(norm) || 1;
          for (let j = 0; j < dim; j++) fresh[c * dim + j] = sums[c * dim + j]! / norm;
        }
        centroids = fresh;
        if (changed / n < (options.tolerance ?? 1e-3)) break;
      }
      let inertia = 0;
      for (let i = 0; i < n; i++) inertia += 2 - 2 * similarity[i]!;
      if (!best || inertia < best.inertia) best = { labels, centroids, confidence: similarity, inertia, iterations: iterations + 1 };
    }
  } finally {
    xt.dispose();
  }
  return best!;
}
