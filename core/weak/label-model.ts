// Label models: turn the votes of accepted LFs into probabilistic labels (DESIGN §6).
//
// The generative model is Dawid–Skene's, specialised to unipolar LFs as in Snorkel: a class
// prior π, and per LF j (voting for class c_j) a true-positive rate α_j = P(fires | y = c_j) and a
// false-positive rate β_j = P(fires | y ≠ c_j), LFs independent given y. It is fit by EM on the
// rows with at least one vote, with a weak Beta prior that keeps rates off 0 and 1. Its estimate
// of LF j's accuracy is P(y = c_j | j fires). Rows whose true class a person gave are clamped to
// it (semi-supervised EM), so active-labelling answers anchor the accuracies.
//
// Cost per EM iteration is O(votes + rows·classes): a fired LF adds one number to one class of its
// row, because the terms every class shares cancel in the row's normalisation.
import type { ProbabilisticLabels, VoteMatrix } from './votes.ts';

export interface LabelModelOptions {
  iterations?: number;
  /** Stop when no rate moves more than this. */
  tolerance?: number;
  /** Learn the class balance (default) or keep this prior. */
  classPrior?: number[];
  /** Known classes of some rows (−1: unknown), e.g. from active labelling. */
  known?: Int32Array;
}

export interface LabelModel extends ProbabilisticLabels {
  kind: 'generative' | 'majority';
  /** Estimated P(y = c_j | LF j fires), per LF. */
  accuracy: Float32Array;
  prior: Float32Array;
  iterations: number;
}

const clamp = (p: number) => Math.min(1 - 1e-4, Math.max(1e-4, p));

/** Majority vote: each row's votes counted per class, ties shared. The baseline. */
export function majorityVote(m: VoteMatrix, options: { known?: Int32Array } = {}): LabelModel {
  const { rows: n, classes: k } = m;
  const probs = new Float32Array(n * k), covered = new Uint8Array(n);
  const counts = new Float32Array(k);
  for (let i = 0; i < n; i++) {
    const known = options.known?.[i] ?? -1;
    if (known >= 0) {
      probs[i * k + known] = 1;
      covered[i] = 1;
      continue;
    }
    const s = m.rowStart[i]!, e = m.rowStart[i + 1]!;
    if (s === e) continue;
    covered[i] = 1;
    counts.fill(0);
    let top = 0;
    for (let t = s; t < e; t++) top = Math.max(top, ++counts[m.classOf[m.lf[t]!]!]!);
    let ties = 0;
    for (let c = 0; c < k; c++) if (counts[c] === top) ties++;
    for (let c = 0; c < k; c++) if (counts[c] === top) probs[i * k + c] = 1 / ties;
  }
  const accuracy = lfAgreement(m, probs, covered);
  const prior = classMass(probs, covered, k);
  return { kind: 'majority', classes: k, probs, covered, accuracy, prior, iterations: 0 };
}

function classMass(probs: Float32Array, covered: Uint8Array, k: number): Float32Array {
  const prior = new Float32Array(k);
  let total = 0;
  for (let i = 0; i < covered.length; i++) {
    if (!covered[i]) continue;
    total++;
    for (let c = 0; c < k; c++) prior[c]! += probs[i * k + c]!;
  }
  for (let c = 0; c < k; c++) prior[c] = total ? prior[c]! / total : 1 / k;
  return prior;
}

/** Mean probability of each LF's class on the rows it fires on. */
function lfAgreement(m: VoteMatrix, probs: Float32Array, covered: Uint8Array): Float32Array {
  const k = m.classes, j = m.classOf.length;
  const sum = new Float64Array(j), count = new Float64Array(j);
  for (let i = 0; i < m.rows; i++) {
    if (!covered[i]) continue;
    for (let t = m.rowStart[i]!; t < m.rowStart[i + 1]!; t++) {
      const l = m.lf[t]!;
      sum[l]! += probs[i * k + m.classOf[l]!]!;
      count[l]!++;
    }
  }
  return Float32Array.from(sum, (s, l) => (count[l] ? s / count[l]! : 0));
}

export function fitLabelModel(m: VoteMatrix, options: LabelModelOptions = {}): LabelModel {
  const { rows: n, classes: k } = m;
  const J = m.classOf.length;
  const maxIter = options.iterations ?? 100, tol = options.tolerance ?? 1e-3;
  const known = options.known;
  // Rows used: covered by a vote, or of known class.
  const usedList: number[] = [];
  for (let i = 0; i < n; i++) if (m.rowStart[i + 1]! > m.rowStart[i]! || (known && known[i]! >= 0)) usedList.push(i);
  const used = Uint32Array.from(usedList);
  // The class of every vote, aligned with m.lf: saves a lookup per vote in both steps.
  const voteClass = Int32Array.from(m.lf, (l) => m.classOf[l]!);
  const covered = new Uint8Array(n);
  for (const i of used) covered[i] = 1;

  // Start from majority vote (as soft labels): EM then only has to refine, and cannot flip the
  // meaning of the classes.
  const q = majorityVote(m, { known }).probs;
  const prior = Float64Array.from(options.classPrior ?? new Array(k).fill(1 / k), (v) => v);
  const alpha = new Float64Array(J), beta = new Float64Array(J);
  const firedMass = new Float64Array(J), firedCount = new Float64Array(J);
  const classTotal = new Float64Array(k);
  const score = new Float64Array(k);
  let iterations = 0;

  const mStep = (): number => {
    classTotal.fill(0);
    firedMass.fill(0);
    firedCount.fill(0);
    for (const i of used) {
      for (let c = 0; c < k; c++) classTotal[c]! += q[i * k + c]!;
      for (let t = m.rowStart[i]!; t < m.rowStart[i + 1]!; t++) {
        const l = m.lf[t]!;
        firedMass[l]! += q[i * k + voteClass[t]!]!;
        firedCount[l]!++;
      }
    }
    let moved = 0;
    for (let l = 0; l < J; l++) {
      const c = m.classOf[l]!;
      // Beta(2, 2)-style smoothing: one pseudo-fire and one pseudo-abstain on each side.
      const a = clamp((firedMass[l]! + 1) / (classTotal[c]! + 2));
      const b = clamp((firedCount[l]! - firedMass[l]! + 1) / (used.length - classTotal[c]! + 2));
      moved = Math.max(moved, Math.abs(a - alpha[l]!), Math.abs(b - beta[l]!));
      alpha[l] = a;
      beta[l] = b;
    }
    if (!options.classPrior) for (let c = 0; c < k; c++) prior[c] = Math.max(1e-6, classTotal[c]! / used.length);
    return moved;
  };

  for (; iterations < maxIter; iterations++) {
    const moved = mStep();
    // E-step. Shared terms: log π_y + Σ_j log(1 − p_j(y)) = const + Σ_{j: c_j = y} (log(1 − α_j) − log(1 − β_j)).
    const base = Float64Array.from(prior, (p) => Math.log(p));
    for (let l = 0; l < J; l++) base[m.classOf[l]!]! += Math.log(1 - alpha[l]!) - Math.log(1 - beta[l]!);
    const bump = new Float64Array(J);
    for (let l = 0; l < J; l++) bump[l] = Math.log(alpha[l]! / (1 - alpha[l]!)) - Math.log(beta[l]! / (1 - beta[l]!));
    for (const i of used) {
      const kn = known ? known[i]! : -1;
      if (kn >= 0) continue; // clamped
      score.set(base);
      for (let t = m.rowStart[i]!; t < m.rowStart[i + 1]!; t++) score[voteClass[t]!]! += bump[m.lf[t]!]!;
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, score[c]!);
      let z = 0;
      for (let c = 0; c < k; c++) z += (score[c] = Math.exp(score[c]! - max));
      for (let c = 0; c < k; c++) q[i * k + c] = score[c]! / z;
    }
    if (iterations > 0 && moved < tol) break;
  }

  // Accuracy of LF j: P(y = c_j | fires) = α π_c / (α π_c + β (1 − π_c)).
  const accuracy = new Float32Array(J);
  for (let l = 0; l < J; l++) {
    const pc = prior[m.classOf[l]!]!;
    accuracy[l] = (alpha[l]! * pc) / (alpha[l]! * pc + beta[l]! * (1 - pc));
  }
  for (let i = 0; i < n; i++) if (!covered[i]) q.fill(0, i * k, (i + 1) * k);
  return { kind: 'generative', classes: k, probs: q, covered, accuracy, prior: Float32Array.from(prior), iterations };
}
