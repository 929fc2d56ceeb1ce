// Collapse indicators of an embedding, shown live while training (DESIGN §7): a collapsed encoder
// maps every image to one point (spread → 0) or to a low-dimensional subspace (rank → 1) while its
// loss can still look fine. Both are cheap on a 512-image sample.
import { l2normalizeRows } from '../learn/vectors.ts';

/** Mean per-dimension std of L2-normalised features × √d: ≈1 for spread features, → 0 as they collapse. */
export function featureSpread(features: Float32Array, dim: number): number {
  const n = features.length / dim;
  const x = l2normalizeRows(features, dim);
  const mean = new Float64Array(dim), sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const v = x[i * dim + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  let total = 0;
  for (let j = 0; j < dim; j++) total += Math.sqrt(Math.max(0, sq[j]! / n - (mean[j]! / n) ** 2));
  return (total / dim) * Math.sqrt(dim);
}

/** Eigenvalues of a symmetric d×d matrix (row-major, copied) by cyclic Jacobi rotations. */
export function symmetricEigenvalues(matrix: Float64Array, d: number, sweeps = 30): Float64Array {
  return symmetricEigen(matrix, d, sweeps, false).values;
}

/** Cyclic Jacobi: eigenvalues and, when asked, eigenvectors (columns of `vectors`, row-major d×d). */
export function symmetricEigen(matrix: Float64Array, d: number, sweeps = 30, withVectors = true): { values: Float64Array; vectors: Float64Array | null } {
  // Hand-written: d ≤ a few hundred here, and a dependency for one 30-line routine does not pay.
  const a = Float64Array.from(matrix);
  const v = withVectors ? new Float64Array(d * d) : null;
  if (v) for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < d; p++) {
      diag += a[p * d + p]! ** 2;
      for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    }
    if (off <= 1e-22 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!, akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!, aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        if (v) {
          for (let k = 0; k < d; k++) {
            const vkp = v[k * d + p]!, vkq = v[k * d + q]!;
            v[k * d + p] = c * vkp - s * vkq;
            v[k * d + q] = s * vkp + c * vkq;
          }
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => a[i * d + i]!), vectors: v };
}

/**
 * Effective rank (Roy & Vetterli, 2007) of the centred, L2-normalised features: exp of the
 * entropy of the normalised singular values. 1 when every image lies on one line, d when the
 * features use all d directions equally; RankMe (Garrido et al., 2023) links it to downstream
 * accuracy of SSL encoders.
 */
export function effectiveRank(features: Float32Array, dim: number): number {
  const n = features.length / dim;
  if (n < 2) return 1;
  const x = l2normalizeRows(features, dim), mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let p = 0; p < dim; p++) {
      const xp = x[row + p]! - mean[p]!;
      if (xp === 0) continue;
      for (let q = p; q < dim; q++) cov[p * dim + q]! += xp * (x[row + q]! - mean[q]!);
    }
  }
  for (let p = 0; p < dim; p++) for (let q = 0; q < p; q++) cov[p * dim + q] = cov[q * dim + p]!;
  const singular = Array.from(symmetricEigenvalues(cov, dim), (l) => Math.sqrt(Math.max(0, l)));
  const total = singular.reduce((s, v) => s + v, 0);
  if (total <= 1e-12) return 1;
  let entropy = 0;
  for (const s of singular) {
    const p = s / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}
