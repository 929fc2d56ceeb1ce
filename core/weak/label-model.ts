// Label models: turn the votes of accepted LFs into probabilistic labels (DESIGN §6).
//
// The generative model is Dawid–Skene's one-coin model over the votes that were cast, as in
// Snorkel: a class balance π and, per LF j (voting for class c_j), an accuracy a_j = P(y = c_j |
// j fires); when j fires, its vote is right with probability a_j and otherwise points away from
// any one other class alike; LFs are independent given y and abstains carry no evidence. (A
// variant that also read abstains as evidence, with per-LF true- and false-positive rates, lost to
// majority vote on real image LFs: LFs cut from one score at several radii are nested, and their
// joint abstains were counted many times over.) It is fit by EM on the rows with at least one
// vote, from majority vote, with a Beta prior that keeps accuracies off 0 and 1; the class balance
// is uniform unless given or asked to be learnt. Rows whose class
// a person gave are clamped to it (semi-supervised EM), so active-labelling answers anchor it.
//
// Cost per EM iteration is O(votes + rows·classes): a fired LF adds one number to one class of its
// row, because the terms every class shares cancel in the row's normalisation.
import type { ProbabilisticLabels, VoteMatrix } from './votes.ts';

export interface LabelModelOptions {
  iterations?: number;
  /** Stop when no rate moves more than this. */
  tolerance?: number;
  /** The class balance; uniform over the classes with LFs when absent (as Snorkel's default). */
  classPrior?: number[];
  /** Re-estimate the class balance in EM (free balance can let one class swallow the rest on noisy votes). */
  learnClassBalance?: boolean;
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

/** No rule chosen yet: nothing covered (active labelling alone seeds the end model). */
export function emptyLabelModel(rows: number, classes: number): LabelModel {
  return { kind: 'majority', classes, probs: new Float32Array(rows * classes), covered: new Uint8Array(rows), accuracy: new Float32Array(0), prior: new Float32Array(classes), iterations: 0 };
}

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
  const { rows: n, classes: k, groups: G } = m;
  const J = m.classOf.length;
  const maxIter = options.iterations ?? 100, tol = options.tolerance ?? 1e-3;
  const known = options.known;
  const usedList: number[] = [];
  for (let i = 0; i < n; i++) if (m.rowStart[i + 1]! > m.rowStart[i]! || (known && known[i]! >= 0)) usedList.push(i);
  const used = Uint32Array.from(usedList);
  const covered = new Uint8Array(n);
  for (const i of used) covered[i] = 1;
  const N = used.length;

  // Groups: class, size (levels 0…size), and each row's level in each group it votes in.
  const groupClass = new Int32Array(G), groupSize = new Int32Array(G);
  for (let l = 0; l < J; l++) (groupClass[m.groupOf[l]!] = m.classOf[l]!), groupSize[m.groupOf[l]!]!++;
  const levelOffset = new Int32Array(G + 1);
  for (let g = 0; g < G; g++) levelOffset[g + 1] = levelOffset[g]! + groupSize[g]! + 1;
  // Sparse (row → [group, level]) built once: rows see few groups.
  const rowGroupStart = new Uint32Array(n + 1);
  const rgGroup: number[] = [], rgLevel: number[] = [];
  const count = new Int32Array(G), touched: number[] = [];
  for (let i = 0; i < n; i++) {
    rowGroupStart[i] = rgGroup.length;
    if (!covered[i]) continue;
    for (let t = m.rowStart[i]!; t < m.rowStart[i + 1]!; t++) {
      const g = m.groupOf[m.lf[t]!]!;
      if (count[g] === 0) touched.push(g);
      count[g] = count[g]! + 1;
    }
    for (const g of touched) (rgGroup.push(g), rgLevel.push(count[g]!), (count[g] = 0));
    touched.length = 0;
  }
  rowGroupStart[n] = rgGroup.length;

  // Only classes some LF votes for can be inferred: a class without one has no evidence against
  // it and would absorb rows. Known rows of such a class stay clamped to it.
  const active = new Uint8Array(k);
  for (let l = 0; l < J; l++) active[m.classOf[l]!] = 1;
  const activeCount = Math.max(2, active.reduce((a, b) => a + b, 0));

  // Start from majority vote (as soft labels): EM then refines, and cannot permute the classes.
  const q = majorityVote(m, { known }).probs;
  // The class balance among covered rows is whatever the LFs' coverage makes it (often far from
  // the dataset's), so it is learnt by default, starting from majority vote's.
  const learnBalance = options.learnClassBalance ?? !options.classPrior;
  const mvMass = classMass(q, covered, k);
  const prior = Float64Array.from(options.classPrior ?? Array.from(mvMass, (v) => v + 1e-3), (v, c) => (active[c] ? v : 0));
  const ps = prior.reduce((a, b) => a + b, 0);
  for (let c = 0; c < k; c++) prior[c]! /= ps;
  // θ: P(level | y = class of the group); φ: P(level | y ≠ it). Log tables, levels 0…size.
  const logTheta = new Float64Array(levelOffset[G]!), logPhi = new Float64Array(levelOffset[G]!);
  const massIn = new Float64Array(levelOffset[G]!), massOut = new Float64Array(levelOffset[G]!);
  const classTotal = new Float64Array(k), score = new Float64Array(k), base = new Float64Array(k), logPrior = new Float64Array(k);
  let iterations = 0, previous = new Float64Array(levelOffset[G]!).fill(NaN);

  for (; iterations < maxIter; iterations++) {
    // M-step: level distributions per group, from the rows' class posteriors (Dirichlet(1) smoothing).
    massIn.fill(0);
    massOut.fill(0);
    classTotal.fill(0);
    for (const i of used) {
      for (let c = 0; c < k; c++) classTotal[c]! += q[i * k + c]!;
      for (let t = rowGroupStart[i]!; t < rowGroupStart[i + 1]!; t++) {
        const g = rgGroup[t]!, o = levelOffset[g]! + rgLevel[t]!, p = q[i * k + groupClass[g]!]!;
        massIn[o]! += p;
        massOut[o]! += 1 - p;
      }
    }
    let moved = 0;
    for (let g = 0; g < G; g++) {
      const c = groupClass[g]!, o = levelOffset[g]!, L = groupSize[g]! + 1;
      let inFired = 0, outFired = 0;
      for (let v = 1; v < L; v++) (inFired += massIn[o + v]!), (outFired += massOut[o + v]!);
      massIn[o] = Math.max(0, classTotal[c]! - inFired);
      massOut[o] = Math.max(0, N - classTotal[c]! - outFired);
      for (let v = 0; v < L; v++) {
        logTheta[o + v] = Math.log((massIn[o + v]! + 1) / (classTotal[c]! + L));
        logPhi[o + v] = Math.log((massOut[o + v]! + 1) / (N - classTotal[c]! + L));
        moved = Math.max(moved, Math.abs(Math.exp(logTheta[o + v]!) - Math.exp(previous[o + v]!)) || (Number.isNaN(previous[o + v]!) ? 1 : 0));
      }
    }
    previous = logTheta.slice();
    if (learnBalance) {
      const pseudo = (0.05 * N) / activeCount;
      for (let c = 0; c < k; c++) prior[c] = active[c] ? (classTotal[c]! + pseudo) / (N + pseudo * activeCount) : 0;
    }
    // E-step. Terms shared by every class cancel; per class: log π_c + Σ_{groups of c} (log θ_g[0] − log φ_g[0]);
    // per group the row votes in: (log θ_g[v] − log φ_g[v]) − (log θ_g[0] − log φ_g[0]) on its class.
    for (let c = 0; c < k; c++) base[c] = logPrior[c] = active[c] ? Math.log(Math.max(prior[c]!, 1e-12)) : -Infinity;
    for (let g = 0; g < G; g++) base[groupClass[g]!]! += logTheta[levelOffset[g]!]! - logPhi[levelOffset[g]!]!;
    for (const i of used) {
      if (known && known[i]! >= 0) continue; // clamped
      score.set(base);
      for (let t = rowGroupStart[i]!; t < rowGroupStart[i + 1]!; t++) {
        const g = rgGroup[t]!, o = levelOffset[g]!;
        score[groupClass[g]!]! += logTheta[o + rgLevel[t]!]! - logPhi[o + rgLevel[t]!]! - (logTheta[o]! - logPhi[o]!);
      }
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, score[c]!);
      let z = 0;
      for (let c = 0; c < k; c++) z += (score[c] = active[c] ? Math.exp(score[c]! - max) : 0);
      for (let c = 0; c < k; c++) q[i * k + c] = score[c]! / z;
    }
    if (iterations > 0 && moved < tol) break;
  }
  for (let i = 0; i < n; i++) if (!covered[i]) q.fill(0, i * k, (i + 1) * k);
  return { kind: 'generative', classes: k, probs: q, covered, accuracy: lfAgreement(m, q, covered), prior: Float32Array.from(prior), iterations: iterations + 1 };
}
