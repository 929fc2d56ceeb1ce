// Small vector helpers shared by the LF generators: every feature row is of unit length, so a dot
// product is a cosine similarity.
import type { LfCandidate, LfContext } from '../plugins/contract.ts';

/** Unit-length mean of some rows (a class prototype); null when the rows cancel out. */
export function meanDirection(features: Float32Array, dim: number, rows: ArrayLike<number>): Float64Array | null {
  const v = new Float64Array(dim);
  for (let t = 0; t < rows.length; t++) {
    const r = rows[t]!;
    for (let j = 0; j < dim; j++) v[j]! += features[r * dim + j]!;
  }
  return normalize(v);
}

export function normalize(v: Float64Array): Float64Array | null {
  let norm = 0;
  for (let j = 0; j < v.length; j++) norm += v[j]! * v[j]!;
  if (!(norm > 1e-12)) return null;
  const s = 1 / Math.sqrt(norm);
  for (let j = 0; j < v.length; j++) v[j]! *= s;
  return v;
}

/** features · v for every row. */
export function project(features: Float32Array, dim: number, v: ArrayLike<number>): Float32Array {
  const n = features.length / dim;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) s += features[o + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

/**
 * The coverages LFs are cut at, as fractions of an equal share of the rows per class: an LF that
 * fires on 10% of a class's expected size is precise and narrow, one at 100% wide and noisy.
 */
export const COVERAGE_LEVELS = [0.1, 0.2, 0.35, 0.5, 0.75, 1.0];

/**
 * Wider cuts, for classes that may be far larger than an equal share: without them no rule can
 * cover more than 1/k of the images, and a class holding most of them stays unlabelled (emoji,
 * People & Body 61% of the images; straddle IWS, 50 answers, 3 draws: end model 50.9% → 66.3%).
 * Where classes are alike in size these cuts are noise the expert must reject (Fashion-MNIST,
 * same protocol: 69.5% → 68.0%), so they are made only when the person does not say the classes
 * are about equally common.
 */
export const WIDE_COVERAGE_LEVELS = [1.5, 2.5, 4];

/** What the person said of their classes' sizes (LfContext.classSizes) → the cuts to make. */
export function coverageLevels(classSizes: LfContext['classSizes']): number[] {
  return classSizes === 'equal' ? COVERAGE_LEVELS : [...COVERAGE_LEVELS, ...WIDE_COVERAGE_LEVELS];
}

/**
 * Threshold LFs on a score: for each coverage level, fire on the rows scoring at least the value
 * at that rank (restricted to `eligible` rows when given). The margin is score − threshold.
 */
export function thresholdLfs(score: Float32Array, classIndex: number, classes: number, keyPrefix: string,
  describe: (threshold: number, count: number) => string, eligible?: Uint8Array, levels: readonly number[] = COVERAGE_LEVELS): LfCandidate[] {
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !eligible || eligible[i]).sort((a, b) => score[b]! - score[a]!);
  const share = n / Math.max(1, classes);
  const out: LfCandidate[] = [];
  let last = -1;
  for (const level of levels) {
    const count = Math.min(order.length, Math.max(1, Math.round(level * share)));
    if (count <= last) continue;
    last = count;
    const threshold = score[order[count - 1]!]!;
    const rows = order.slice(0, count).sort((a, b) => a - b);
    out.push({
      key: `${keyPrefix}:${level}`,
      description: describe(threshold, count),
      classIndex,
      fires: Uint32Array.from(rows),
      margin: Float32Array.from(rows, (r) => score[r]! - threshold),
      group: keyPrefix,
    });
  }
  return out;
}
