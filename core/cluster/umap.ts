// The 2-D map of an embedding: UMAP (McInnes, Healy, Melville 2018) with umap-js's settings (15
// neighbours, min_dist 0.1, spread 1, 200–500 epochs, random initial layout). Hand-written on
// typed arrays and the native kernels because umap-js takes ~200 s for 100,000 points on this
// 2-core machine (approximate neighbours and its sparse matrices in plain JS objects, epochs on
// number[][]): here the neighbours are exact (cosine, tiles of dot products by the native GEMM
// with the top k selected on the fly, native/src/umap.cc), the fuzzy graph is built on typed
// arrays, and the epochs run natively. Without the native kernels, core/cluster/run.ts
// keeps using umap-js.
import type { NativeKernels } from '../engine/backends/native-kernels.ts';
import { Rng } from '../engine/rng.ts';

type Kernels = Required<Pick<NativeKernels, 'knnExact' | 'umapEpochs'>>;

export interface UmapIo {
  signal?: AbortSignal;
  progress?(done: number, total: number | null, metrics?: Record<string, string | number>): void;
}

export interface KnnGraph {
  k: number;
  /** n × k neighbour indices, nearest first (each row's own index among them). */
  idx: Int32Array;
  /** n × k Euclidean distances between the unit rows. */
  dist: Float32Array;
  /** n × k cosine similarities (what the kernel computes; dist = √(2 − 2·sim)). */
  sim: Float32Array;
}

const yieldNow = () => new Promise((r) => setImmediate(r));

/** Exact k nearest neighbours of unit rows (cosine), natively, in slices of rows between which it yields. */
export async function exactKnn(x: Float32Array, n: number, dim: number, k: number, kernels: Pick<Kernels, 'knnExact'>, io: UmapIo = {}): Promise<KnnGraph> {
  const idx = new Int32Array(n * k), dist = new Float32Array(n * k), vals = new Float32Array(n * k);
  // ~0.2 s of work per slice whatever n is (the work per row grows with n).
  const slice = Math.max(64, Math.floor(4e9 / (n * dim)));
  for (let start = 0; start < n; start += slice) {
    const end = Math.min(n, start + slice);
    kernels.knnExact(x, idx.subarray(start * k, end * k), vals.subarray(start * k, end * k), Int32Array.of(start, end, n, dim, k));
    io.progress?.(end, n, { phase: 'Finding neighbours (map)' });
    await yieldNow();
    io.signal?.throwIfAborted();
  }
  for (let e = 0; e < n * k; e++) dist[e] = Math.sqrt(Math.max(0, 2 - 2 * vals[e]!));
  return { k, idx, dist, sim: vals };
}

export interface FuzzyGraph {
  head: Int32Array;
  tail: Int32Array;
  weight: Float32Array;
}

/**
 * UMAP's fuzzy simplicial set: per point, ρ (distance to the nearest other point) and σ (so the
 * memberships exp(−(d − ρ)/σ) of its neighbours sum to log2 k), then the fuzzy union
 * w + wᵀ − w∘wᵀ, both directions of every pair listed.
 */
export function fuzzyGraph(g: KnnGraph, n: number): FuzzyGraph {
  const { k, idx, dist } = g;
  const w = new Float32Array(n * k);
  const target = Math.log2(k);
  let meanAll = 0;
  for (let e = 0; e < n * k; e++) meanAll += dist[e]!;
  meanAll /= n * k;
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let rho = 0, mean = 0;
    for (let s = 0; s < k; s++) {
      mean += dist[o + s]!;
      if (rho === 0 && idx[o + s] !== i && dist[o + s]! > 0) rho = dist[o + s]!;
    }
    mean /= k;
    let lo = 0, hi = Infinity, sigma = 1;
    for (let it = 0; it < 64; it++) {
      let psum = 0;
      for (let s = 0; s < k; s++) {
        if (idx[o + s] === i) continue;
        const d = dist[o + s]! - rho;
        psum += d > 0 ? Math.exp(-d / sigma) : 1;
      }
      if (Math.abs(psum - target) < 1e-5) break;
      if (psum > target) {
        hi = sigma;
        sigma = (lo + hi) / 2;
      } else {
        lo = sigma;
        sigma = hi === Infinity ? sigma * 2 : (lo + hi) / 2;
      }
    }
    sigma = Math.max(sigma, 1e-3 * (rho > 0 ? mean : meanAll));
    for (let s = 0; s < k; s++) {
      if (idx[o + s] === i || idx[o + s]! < 0) continue;
      const d = dist[o + s]! - rho;
      w[o + s] = d <= 0 ? 1 : Math.exp(-d / sigma);
    }
  }
  const head: number[] = [], tail: number[] = [], weight: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < k; s++) {
      const j = idx[i * k + s]!, wij = w[i * k + s]!;
      if (j < 0 || j === i || wij <= 0) continue;
      let wji = 0;
      for (let t = 0; t < k; t++) if (idx[j * k + t] === i) wji = w[j * k + t]!;
      const sym = wij + wji - wij * wji;
      head.push(i);
      tail.push(j);
      weight.push(sym);
      // A one-sided pair: (j, i) is listed from here, not from j's own neighbours.
      if (wji === 0) {
        head.push(j);
        tail.push(i);
        weight.push(sym);
      }
    }
  }
  return { head: Int32Array.from(head), tail: Int32Array.from(tail), weight: Float32Array.from(weight) };
}

/** umap-js's number of epochs for n points. */
export function defaultEpochs(n: number): number {
  return n <= 2500 ? 500 : n <= 5000 ? 400 : n <= 7500 ? 300 : 200;
}

/** a, b of the low-dimensional similarity 1 / (1 + a d^2b) for min_dist 0.1, spread 1 (umap-learn's fit). */
const A = 1.576943460405378, B = 0.8950608781227859;

/** The UMAP layout (n × 2, unscaled) of L2-normalised rows, on the native kernels. */
export async function nativeUmap(x: Float32Array, n: number, dim: number, kernels: Kernels, io: UmapIo = {}, options: { nEpochs?: number; seed?: number; neighbours?: number } = {}): Promise<Float32Array> {
  const k = Math.min(options.neighbours ?? 15, n);
  const nEpochs = options.nEpochs ?? defaultEpochs(n);
  const graph = fuzzyGraph(await exactKnn(x, n, dim, k, kernels, io), n);
  // Edges sampled in proportion to their weight; those under max / nEpochs never would be.
  let wMax = 0;
  for (const v of graph.weight) wMax = Math.max(wMax, v);
  const keep: number[] = [];
  graph.weight.forEach((v, e) => { if (v >= wMax / nEpochs) keep.push(e); });
  const head = Int32Array.from(keep, (e) => graph.head[e]!), tail = Int32Array.from(keep, (e) => graph.tail[e]!);
  const perSample = Float32Array.from(keep, (e) => wMax / graph.weight[e]!);
  const nextSample = Float32Array.from(perSample), nextNegative = Float32Array.from(perSample, (v) => v / 5);
  const rng = new Rng(options.seed ?? 0);
  const y = Float32Array.from({ length: n * 2 }, () => rng.uniform(-10, 10));
  const rngState = Int32Array.of(rng.int(2 ** 31), rng.int(2 ** 31) | 1);
  const params = Float32Array.of(A, B, 1, 5, 1);
  // Epochs in slices of ~100 ms, yielding between them for progress and cancel.
  let epoch = 0, slice = 1;
  while (epoch < nEpochs) {
    const to = Math.min(nEpochs, epoch + slice);
    const t0 = performance.now();
    kernels.umapEpochs(head, tail, perSample, nextSample, nextNegative, y, rngState, Int32Array.of(n, keep.length, epoch, to, nEpochs), params);
    const ms = performance.now() - t0;
    slice = Math.max(1, Math.round(((to - epoch) * 100) / Math.max(ms, 1)));
    epoch = to;
    io.progress?.(epoch, nEpochs, { phase: 'Laying out the map (UMAP)' });
    await yieldNow();
    io.signal?.throwIfAborted();
  }
  return y;
}
