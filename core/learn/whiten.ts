// Shrinkage whitening of an embedding: the geometry in which active labelling's picks compare
// images (their clusters, typicality and near-duplicates). A self-supervised embedding puts most
// of its variance in a few directions; cosine similarity of its raw rows is decided by them, and
// the directions that tell two close classes apart (a shirt from a T-shirt) barely count.
// Whitening with shrinkage scales each principal direction by 1 / √(λ + s·λ̄) (λ its variance,
// λ̄ the mean over directions, s the shrinkage): large directions are compressed, small ones kept
// small, so noise is not blown up as full whitening (s = 0) would.
//
// Measured (active labelling, end model after 10 / 25 / 50 images, 24 draws, the picks alone
// whitened): Fashion-MNIST 70.8 / 73.0 / 74.7% → 71.2 / 73.6 / 75.8% (ceiling 84.3%), emoji
// 66.5 / 69.8 / 71.3% → 66.9 / 69.9 / 72.3% (ceiling 78.2%); shrinkage 0.1: 76.0 / 71.8% at 50.
// The neighbour graph does not use it alone: whitened there too, Fashion-MNIST reached 76.6% but
// emoji fell back 0.5 point, and where the classes differ along the large directions and the noise
// is even across all (weak.test.ts's propagation case) the graph lost its groups (end model 76%
// against > 93%). The graph choice (core/weak/graph-choice.ts) blends it with the raw geometry
// where the person's labels say that spreads better. Nor the linear head: given whitened rows, the
// fully supervised model lost 1.2 points on Fashion-MNIST and 5 on emoji (its L2 penalty then
// weighs noise directions alike).
import { symmetricEigen } from '../engine/collapse.ts';
import { Rng } from '../engine/rng.ts';
import { loadNativeKernels } from '../engine/backends/native-kernels.ts';
import { gemm } from './classifier.ts';
import { l2normalizeRows } from './vectors.ts';

/** Most rows the covariance is estimated from (a seeded random sample beyond): it settles long before. */
const COVARIANCE_ROWS = 20_000;
/** The shrinkage s: each direction's variance plus s times the mean variance. */
export const WHITENING_SHRINKAGE = 1;

export interface Whitening {
  /** Mean of the unit rows it was fitted on. */
  mean: Float64Array;
  /** Row-major dim × dim: output e = Σ_j (u_j − mean_j) · matrix[e · dim + j]. */
  matrix: Float64Array;
}

/**
 * Fits the whitening on the unit-length rows of `features` (a seeded random sample of
 * COVARIANCE_ROWS beyond). Without variance (fewer than two distinct rows) it only centres.
 */
export function fitWhitening(features: Float32Array, dim: number, options: { shrinkage?: number } = {}): Whitening {
  const n = features.length / dim;
  const sampled = n > COVARIANCE_ROWS ? new Rng(0).shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, COVARIANCE_ROWS) : null;
  let x = features;
  if (sampled) {
    x = new Float32Array(sampled.length * dim);
    sampled.forEach((r, i) => x.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
  }
  const u = l2normalizeRows(x, dim), m = Math.max(1, u.length / dim);
  const mean = new Float64Array(dim), cov = new Float64Array(dim * dim), centred = new Float64Array(dim);
  for (let i = 0; i < u.length; i++) mean[i % dim]! += u[i]! / m;
  for (let o = 0; o < u.length; o += dim) {
    for (let j = 0; j < dim; j++) centred[j] = u[o + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = centred[a]!;
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ca * centred[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / m;
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  const matrix = new Float64Array(dim * dim);
  const { values, vectors } = symmetricEigen(cov, dim);
  const meanVariance = values.reduce((s, v) => s + Math.max(0, v), 0) / dim;
  if (!(meanVariance > 0) || !vectors) {
    for (let e = 0; e < dim; e++) matrix[e * dim + e] = 1;
    return { mean, matrix };
  }
  const floor = (options.shrinkage ?? WHITENING_SHRINKAGE) * meanVariance;
  for (let e = 0; e < dim; e++) {
    const scale = 1 / Math.sqrt(Math.max(0, values[e]!) + floor);
    for (let j = 0; j < dim; j++) matrix[e * dim + j] = vectors[j * dim + e]! * scale;
  }
  return { mean, matrix };
}

/** Rows projected per native product (a centred copy of them is made for it). */
const PROJECT_BLOCK_ROWS = 16_384;

/**
 * The rows of `features` whitened (each taken to unit length, centred, projected) and taken to
 * unit length again. The projection is one matrix product: on the native GEMM where it loads
 * (100,000 rows × 128 dims: 3.6 s in the JavaScript loop below, which stays as the fallback and
 * the reference), in single precision.
 */
export function whitenedUnitRows(features: Float32Array, dim: number, w: Whitening, options: { forceJs?: boolean } = {}): Float32Array {
  const u = l2normalizeRows(features, dim), out = new Float32Array(u.length);
  const load = options.forceJs ? null : loadNativeKernels();
  if (load?.ok) {
    const n = u.length / dim, projection = new Float32Array(dim * dim);
    for (let e = 0; e < dim; e++) for (let j = 0; j < dim; j++) projection[j * dim + e] = w.matrix[e * dim + j]!;
    for (let start = 0; start < n; start += PROJECT_BLOCK_ROWS) {
      const rows = Math.min(PROJECT_BLOCK_ROWS, n - start);
      const centred = u.slice(start * dim, (start + rows) * dim);
      for (let i = 0; i < centred.length; i++) centred[i]! -= w.mean[i % dim]!;
      gemm(load.kernels, centred, projection, out.subarray(start * dim, (start + rows) * dim), rows, dim, dim, false);
    }
    return l2normalizeRows(out, dim);
  }
  const centred = new Float64Array(dim);
  for (let o = 0; o < u.length; o += dim) {
    for (let j = 0; j < dim; j++) centred[j] = u[o + j]! - w.mean[j]!;
    for (let e = 0; e < dim; e++) {
      let z = 0;
      for (let j = 0; j < dim; j++) z += centred[j]! * w.matrix[e * dim + j]!;
      out[o + e] = z;
    }
  }
  return l2normalizeRows(out, dim);
}

/** Unit rows in the whitened geometry, fitted on the same rows. */
export function whitenedGeometry(features: Float32Array, dim: number): Float32Array {
  return whitenedUnitRows(features, dim, fitWhitening(features, dim));
}
