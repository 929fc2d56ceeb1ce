// Label propagation over the embedding's neighbour graph (label spreading, Zhou et al., NeurIPS
// 2003): F ← α S F + (1 − α) Y, S = D^-½ W D^-½ on the symmetric k-nearest-neighbour graph, W the
// cosine similarity of neighbours. Seeds Y are the rows a person labelled and the rows the label
// model covers.
//
// Why: accepted LFs fire on the easy, central images of each class, so an end model fit on them
// alone never sees where classes meet (Fashion-MNIST, 50 answers: 83% accurate labels on a third
// of the images, end model 60%). Spreading those labels along the data's own neighbourhoods
// labels every image, boundaries included (same answers: end model 69%).
//
// Neighbours are exact (the native GEMM-tile kernel of the map); without native kernels, blocks of
// tfjs matMul. The end model spreads on the graph graph-choice.ts picks (the embedding's own
// geometry, or one blended with its whitened rows). The diffusion steps run on the native kernel
// (spread.h) where it loads. Each class's seeds are scaled towards equal mass first
// (CLASS_BALANCE), as far as the person says the classes are alike in size, or to the rough
// shares the person gave.
import * as tf from '@tensorflow/tfjs';
import { exactKnn } from '../cluster/umap.ts';
import { loadNativeKernels } from '../engine/backends/native-kernels.ts';
import { LoupeError } from '../errors.ts';
import { l2normalizeRows } from '../learn/vectors.ts';

export interface PropagationOptions {
  /** Neighbours per image in the graph. */
  neighbours?: number;
  /** Weight of the neighbours against the seeds; close to 1 spreads further. Default: spreadingAlpha. */
  alpha?: number;
  /** Diffusion steps. */
  steps?: number;
  /**
   * Most rows in the graph (exact neighbours grow as n²: 100k rows take ~15 s). Beyond it, the
   * person-labelled rows and a random sample of the others make the graph; the end model learns
   * from those and still labels every image.
   */
  maxRows?: number;
  signal?: AbortSignal;
  /**
   * How far each class's seeds are scaled to equal total mass: 1 all the way, 0 not at all (every
   * seed counts alike). See CLASS_BALANCE.
   */
  balance?: number;
  /**
   * Each class's share of the images as a fraction, null where the person left it blank
   * (resolveClassShares): each given class's seeds are scaled to that total mass, and the blank
   * classes share what is left in proportion to their seeds. In place of `balance`.
   */
  classShares?: (number | null)[];
  /**
   * Every row of the features in the whitened geometry (whitenedGeometry, same row order), where
   * the caller keeps them: the end model's graph choice (graph-choice.ts) reads them instead of
   * fitting a whitening of its own.
   */
  whitened?: Float32Array;
}

/**
 * The person's rough shares of the images per class, in percent, blank (null) where they do not
 * know, as fractions (blanks stay null: together they get what is left, split by their seeds —
 * classSeedScale). Undefined when nothing was given. Why: with 3
 * example images per class and classes of very unequal size, no mass setting of CLASS_BALANCE
 * fits — equal mass gives a class holding 61% of the images (emoji's People & Body) as much
 * weight as one holding 2%, and seed-count mass gives it 3 of 27 seeds. One number from the
 * person ("People & Body: 60%", the rest blank) fixes it: emoji, end model from the examples
 * alone, 3 draws, 30.3% → 65.1% (see simulate.ts, classSharesOf).
 */
export function resolveClassShares(percent: readonly (number | null)[] | undefined): (number | null)[] | undefined {
  if (!percent || percent.every((p) => p === null)) return undefined;
  const typed = percent.reduce<number>((sum, p) => sum + (p ?? 0), 0);
  const blanks = percent.filter((p) => p === null).length;
  if (percent.some((p) => p !== null && !(p > 0 && p <= 100))) throw new LoupeError('invalid-input', 'A class share must be between 0 and 100%.', { hint: 'Leave a class blank if you do not know its share.' });
  if (blanks > 0 && typed >= 100) {
    throw new LoupeError('invalid-input', `The shares you gave add up to ${Math.round(typed)}%, which leaves nothing for the ${blanks} class${blanks > 1 ? 'es' : ''} left blank.`, { hint: 'Lower the shares, or give every class one.' });
  }
  // All given: scaled to sum to 1 (rough shares rarely add up exactly).
  const total = blanks > 0 ? 100 : typed;
  return percent.map((p) => (p === null ? null : p / total));
}

/**
 * What each class's seeds are multiplied by so that its total mass is its share: a given share
 * outright; the blank classes together get what the given ones leave, split in proportion to
 * their seed mass (the person does not know them, so their labels decide). Splitting the rest
 * equally instead: emoji, 3 draws, straddle at 25 / 50 answers 63.3 / 65.8% (now 65.7 / 67.3%),
 * active labelling at 10 / 50 images 66.8 / 68.6% (now 67.2 / 69.3%).
 */
export function classSeedScale(mass: ArrayLike<number>, shares: readonly (number | null)[]): Float64Array {
  let rest = 1, blankMass = 0;
  shares.forEach((s, c) => (s === null ? (blankMass += mass[c]!) : (rest -= s)));
  return Float64Array.from(shares, (s, c) => (mass[c]! <= 0 ? 0 : s === null ? Math.max(0, rest) / blankMass : s / mass[c]!));
}

/**
 * How far labels spread (α), from how many labels a person gave per class (on average): far
 * while they are few, so 3 examples reach their whole class; less far once there are more, so
 * each label speaks for its own neighbourhood and not for a class's far side (the next label is
 * nearer). Active labelling, end model, α 0.97 from 5 labels per class against 0.99 throughout,
 * mean of 12 draws (seeds 0–11) at 25 / 50 / 100 images: emoji 68.4 / 69.4 / 70.9% → 69.9 /
 * 70.8 / 72.4%, Fashion-MNIST 73.7 / 76.1 / 77.6% → 73.6 / 76.4 / 77.7%. α 0.97 from the start
 * loses about a point with 3 examples per class (emoji 65.3 → 64.2%, Fashion-MNIST 68.7 → 67.9%,
 * 6 draws); α 1 − 0.01 · labels/3 (continuous) lost 0.5–0.8 points on Fashion-MNIST at 50 images.
 */
export function spreadingAlpha(labelsPerClass: number): number {
  return labelsPerClass >= 5 ? 0.97 : 0.99;
}

/**
 * What the person says of their classes' sizes, as the exponent of the seed-mass scaling.
 * Measured with the 5 widest good rules per class and 3 examples per class (one draw): equal mass
 * keeps a class with wide rules from flooding the graph where classes are alike in size
 * (Fashion-MNIST: end model 70% with equal mass, 63% without). Where one class is far larger,
 * equal mass gives its many seeds as much weight as another's 3 examples and the large class
 * loses its own region (emoji, People & Body 61% of the images: 39% with equal mass, 70%
 * without). Not sure: half way (66% and 69%).
 */
export const CLASS_BALANCE = { equal: 1, unequal: 0, unknown: 0.5 } as const;
export type ClassBalance = keyof typeof CLASS_BALANCE;

/** Symmetric kNN graph in CSR form, weights = max(0, cosine) of the pair. */
export interface NeighbourGraph {
  rowStart: Uint32Array;
  col: Uint32Array;
  weight: Float32Array;
}

async function neighbourLists(x: Float32Array, n: number, dim: number, k: number, signal?: AbortSignal, forceJs = false): Promise<{ idx: Int32Array; sim: Float32Array }> {
  const load = loadNativeKernels();
  if (!forceJs && load.ok && load.kernels.knnExact) {
    const g = await exactKnn(x, n, dim, k, { knnExact: load.kernels.knnExact }, signal ? { signal } : {});
    return { idx: g.idx, sim: g.sim };
  }
  const idx = new Int32Array(n * k), sim = new Float32Array(n * k);
  const all = tf.tensor2d(x, [n, dim]);
  const block = Math.max(1, Math.floor(2e7 / n));
  try {
    for (let start = 0; start < n; start += block) {
      const end = Math.min(n, start + block);
      const s = tf.tidy(() => tf.matMul(all.slice([start, 0], [end - start, dim]), all, false, true));
      const { values, indices } = tf.topk(s, k);
      const [v, i] = await Promise.all([values.data(), indices.data()]);
      tf.dispose([s, values, indices]);
      sim.set(v as Float32Array, start * k);
      idx.set(i as Int32Array, start * k);
      signal?.throwIfAborted();
    }
  } finally {
    all.dispose();
  }
  return { idx, sim };
}

export async function neighbourGraph(features: Float32Array, dim: number, neighbours: number, signal?: AbortSignal, options: { forceJs?: boolean } = {}): Promise<NeighbourGraph> {
  const n = features.length / dim, k = Math.min(n, neighbours + 1);
  const { idx, sim } = await neighbourLists(l2normalizeRows(features, dim), n, dim, k, signal, options.forceJs);
  // Union of both directions, keeping the larger weight of a pair listed twice.
  const edges = new Map<number, number>();
  const degree = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = idx[i * k + t]!;
      if (j === i || j < 0) continue;
      const a = Math.min(i, j), b = Math.max(i, j), key = a * n + b, w = Math.max(0, sim[i * k + t]!);
      const old = edges.get(key);
      if (old === undefined) (degree[a]!++, degree[b]!++);
      if (old === undefined || w > old) edges.set(key, w);
    }
  }
  const rowStart = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) rowStart[i + 1] = rowStart[i]! + degree[i]!;
  const fill = rowStart.slice(0, n), col = new Uint32Array(rowStart[n]!), weight = new Float32Array(rowStart[n]!);
  for (const [key, w] of edges) {
    const a = Math.floor(key / n), b = key - a * n;
    (col[fill[a]!] = b), (weight[fill[a]!++] = w);
    (col[fill[b]!] = a), (weight[fill[b]!++] = w);
  }
  return { rowStart, col, weight };
}

/** Seeds scaled per class as `options` say (balance or shares: classSeedScale), as the spreading's Y. */
function scaledSeeds(seeds: Float32Array, k: number, options: PropagationOptions): Float64Array {
  const n = seeds.length / k, y = Float64Array.from(seeds), mass = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) mass[c]! += y[i * k + c]!;
  const beta = options.balance ?? CLASS_BALANCE.equal, shares = options.classShares;
  const scale = shares ? classSeedScale(mass, shares) : Float64Array.from(mass, (m) => (m <= 0 ? 0 : 1 / m ** beta));
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) y[i * k + c]! *= scale[c]!;
  return y;
}

/**
 * F ← α S F + (1 − α) Y for `steps` steps, Y n × cols. S's entries are computed once per edge, so
 * several spreadings done as one (more columns) share the graph walk (crossValidatedSpread's
 * folds). On the native kernel where it loads (threads over the rows; 5,000 rows × 50 columns ×
 * 40 steps: 370 ms here in JavaScript), else the same loop here. `forceJs` for tests.
 */
function diffuse(graph: NeighbourGraph, y: Float64Array, cols: number, alpha: number, steps: number, forceJs = false): Float64Array {
  const n = graph.rowStart.length - 1, edges = graph.col.length;
  const { rowStart, col } = graph, keep = 1 - alpha;
  const invSqrtDeg = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let t = rowStart[i]!; t < rowStart[i + 1]!; t++) d += graph.weight[t]!;
    invSqrtDeg[i] = d > 0 ? 1 / Math.sqrt(d) : 0;
  }
  const s = new Float64Array(edges);
  for (let i = 0; i < n; i++) for (let t = rowStart[i]!; t < rowStart[i + 1]!; t++) s[t] = alpha * graph.weight[t]! * invSqrtDeg[i]! * invSqrtDeg[col[t]!]!;
  let f = Float64Array.from(y), next = new Float64Array(n * cols);
  const load = forceJs ? null : loadNativeKernels();
  if (load?.ok && load.kernels.spreadDiffuse && edges < 2 ** 31) {
    // Same bits: offsets and columns stay below 2³¹.
    const asInt = (a: Uint32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);
    load.kernels.spreadDiffuse(asInt(rowStart), asInt(col), s, y, f, next, Int32Array.from([n, edges, cols, steps]), keep);
    return f;
  }
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < n; i++) {
      const o = i * cols, end = rowStart[i + 1]!;
      for (let c = 0; c < cols; c++) next[o + c] = keep * y[o + c]!;
      for (let t = rowStart[i]!; t < end; t++) {
        const w = s[t]!;
        if (w === 0) continue;
        const p = col[t]! * cols;
        for (let c = 0; c < cols; c++) next[o + c]! += w * f[p + c]!;
      }
    }
    const swap = f;
    f = next;
    next = swap;
  }
  return f;
}

/** Columns [from, from + k) of each row of `f` (row width `cols`), clipped at 0 and normalised per row (unreached rows stay 0). */
function normalisedBlock(f: Float64Array, n: number, cols: number, from: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.max(0, f[i * cols + from + c]!);
    if (z > 0) for (let c = 0; c < k; c++) out[i * k + c] = Math.max(0, f[i * cols + from + c]!) / z;
  }
  return out;
}

/**
 * Spreads seed labels (n × classes, zero rows for unlabelled images) over the graph. Returns the
 * n × classes scores normalised per row (rows the graph cannot reach stay zero).
 */
export function spreadLabels(graph: NeighbourGraph, seeds: Float32Array, classes: number, options: PropagationOptions = {}, forceJs = false): Float32Array {
  return spreadLabelsMany(graph, [seeds], classes, options, forceJs)[0]!;
}

/**
 * Several spreadings on one graph at once (each seed set scaled on its own, as spreadLabels would):
 * the same results, in one walk of the graph per step.
 */
export function spreadLabelsMany(graph: NeighbourGraph, seedSets: Float32Array[], classes: number, options: PropagationOptions = {}, forceJs = false): Float32Array[] {
  const n = graph.rowStart.length - 1, k = classes, m = seedSets.length, cols = m * k;
  const alpha = options.alpha ?? spreadingAlpha(0), steps = options.steps ?? 40;
  const y = new Float64Array(n * cols);
  seedSets.forEach((seeds, q) => {
    const scaled = scaledSeeds(seeds, k, options);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) y[i * cols + q * k + c] = scaled[i * k + c]!;
  });
  const f = diffuse(graph, y, cols, alpha, steps, forceJs);
  return seedSets.map((_, q) => normalisedBlock(f, n, cols, q * k, k));
}
