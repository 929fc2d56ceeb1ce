// The clusterings cluster LFs are made from: the user's own (named concepts first), then k-means
// at the granularities they lack. Coarse clusterings (k ≈ the number of classes) mix the classes
// that look alike; fine ones split them into pure pieces a rule can name. Fashion-MNIST (SimCLR
// embedding, 3 examples per class), every cluster LF the simulated expert would accept: with
// k-means at 1× and 2× the classes only, end model 63.8%; adding 5× and 10×, 70.0%; the same
// plus a third candidate class per cluster (plugins/lf-generators/cluster.ts), 73.4% (ceiling 84.4%).
import { kmeans } from '../cluster/kmeans.ts';
import type { LfContext } from '../plugins/contract.ts';

export type LfClustering = LfContext['clusterings'][number];

/** Multiples of the number of classes that cluster LFs are made at. */
export const CLUSTER_GRANULARITIES = [1, 2, 5, 10];
/** Fewest images per cluster on average: finer than this a cluster is a neighbourhood, which neighbour LFs already cover. */
export const MIN_CLUSTER_SIZE = 20;

/** The k values still missing: none within 25% of a clustering the user already has, none with clusters under MIN_CLUSTER_SIZE. */
export function missingGranularities(rows: number, classes: number, existing: number[]): number[] {
  const most = Math.floor(rows / MIN_CLUSTER_SIZE);
  const ks = [...new Set(CLUSTER_GRANULARITIES.map((m) => Math.min(m * classes, most)))].filter((k) => k >= 2);
  return ks.filter((k) => !existing.some((e) => Math.abs(e - k) <= 0.25 * k));
}

/** Adds k-means clusterings (on unit-length features) for the granularities `existing` lacks. */
export async function withKmeansClusterings(features: Float32Array, dim: number, classes: number, existing: LfClustering[],
  options: { seed?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<LfClustering[]> {
  const rows = features.length / dim;
  const ks = missingGranularities(rows, classes, existing.map((c) => c.k));
  const out = [...existing];
  // Ids of computed clusterings are negative: they are not stored and cannot clash with the user's.
  for (const [i, k] of ks.entries()) {
    options.onProgress?.(i, ks.length);
    const r = await kmeans(features, dim, { k, restarts: 2, seed: (options.seed ?? 0) + i, ...(options.signal ? { signal: options.signal } : {}) });
    out.push({ id: -(i + 1), k, assignment: r.labels, names: new Array(k).fill(null) });
  }
  options.onProgress?.(ks.length, ks.length);
  return out;
}
