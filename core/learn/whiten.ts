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
// Not used for the neighbour graph: whitened there too, Fashion-MNIST reached 76.6% but emoji
// fell back 0.5 point, and where the classes differ along the large directions and the noise is
// even across all (weak.test.ts's propagation case) the graph lost its groups (end model 76%
// against > 93%). Nor for the linear head: given whitened rows, the fully supervised model lost
// 1.2 points on Fashion-MNIST and 5 on emoji (its L2 penalty then weighs noise directions alike).
import { symmetricEigen } from '../engine/collapse.ts';
import { Rng } from '../engine/rng.ts';
import { l2normalizeRows } from './vectors.ts';

/** Most rows the covariance is estimated from (a seeded random sample beyond): it settles long before. */
const COVARIANCE_ROWS = 20_000;
/** The shrinkage s: each direction's variance plus s times the mean variance. */
export const WHITENING_SHRINKAGE = 1;

export interface Whitening {
  dim: number;
  /** Mean of the unit rows it was fitted on. */
  mean: Float64Array;
  /** Row-major dim × dim: output e = Σ_j (u_j − mean_j) · matrix[e · dim + j]. */
  matrix: Float64Array;
}

/**
 * Fits the whitening on the unit-length rows of `features` (`rows` of them when given; a random
 * sample of COVARIANCE_ROWS beyond). Without variance (fewer than two distinct rows) it only
 * centres.
 */
export function fitWhitening(features: Float32Array, dim: number, options: { rows?: number[]; shrinkage?: number; seed?: number } = {}): Whitening {
  const n = features.length / dim;
  let rows = options.rows ?? Array.from({ length: n }, (_, i) => i);
  if (rows.length > COVARIANCE_ROWS) rows = new Rng(options.seed ?? 0).shuffle(rows.slice()).slice(0, COVARIANCE_ROWS);
  const m = rows.length;
  const mean = new Float64Array(dim), cov = new Float64Array(dim * dim), u = new Float64Array(dim);
  const unit = (r: number) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += features[r * dim + j]! ** 2;
    const inv = 1 / (Math.sqrt(s) || 1);
    for (let j = 0; j < dim; j++) u[j] = features[r * dim + j]! * inv;
  };
  for (const r of rows) {
    unit(r);
    for (let j = 0; j < dim; j++) mean[j]! += u[j]! / Math.max(1, m);
  }
  for (const r of rows) {
    unit(r);
    for (let j = 0; j < dim; j++) u[j]! -= mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ua = u[a]!;
      if (ua === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ua * u[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / Math.max(1, m);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  const matrix = new Float64Array(dim * dim);
  const { values, vectors } = symmetricEigen(cov, dim);
  const meanVariance = values.reduce((s, v) => s + Math.max(0, v), 0) / dim;
  if (!(meanVariance > 0) || !vectors) {
    for (let e = 0; e < dim; e++) matrix[e * dim + e] = 1;
    return { dim, mean, matrix };
  }
  const floor = (options.shrinkage ?? WHITENING_SHRINKAGE) * meanVariance;
  for (let e = 0; e < dim; e++) {
    const scale = 1 / Math.sqrt(Math.max(0, values[e]!) + floor);
    for (let j = 0; j < dim; j++) matrix[e * dim + j] = vectors[j * dim + e]! * scale;
  }
  return { dim, mean, matrix };
}

/** The rows of `features` whitened (each taken to unit length, centred, projected) and taken to unit length again. */
export function whitenedUnitRows(features: Float32Array, dim: number, w: Whitening): Float32Array {
  const n = features.length / dim, out = new Float32Array(n * dim), u = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += features[i * dim + j]! ** 2;
    const inv = 1 / (Math.sqrt(s) || 1);
    for (let j = 0; j < dim; j++) u[j] = features[i * dim + j]! * inv - w.mean[j]!;
    for (let e = 0; e < dim; e++) {
      let z = 0;
      const o = e * dim;
      for (let j = 0; j < dim; j++) z += u[j]! * w.matrix[o + j]!;
      out[i * dim + e] = z;
    }
  }
  return l2normalizeRows(out, dim);
}

/** Unit rows in the whitened geometry, fitted on the same rows (or `rows` of them). */
export function whitenedGeometry(features: Float32Array, dim: number, options: { rows?: number[]; seed?: number } = {}): Float32Array {
  return whitenedUnitRows(features, dim, fitWhitening(features, dim, options));
}
