// Label models: turn the votes of accepted LFs into probabilistic labels (DESIGN §6).
//
// The generative model is Dawid–Skene's for unipolar LFs: each group of nested cuts (one score cut
// at several radii) is one ordinal source whose level — how many of its cuts fire on a row — has
// its own distribution when y is the group's class (θ) and when it is not (φ); groups are
// independent given y, and a class balance π is learnt. Reading a group as one source counts its
// nested cuts once (counted as separate LFs, their joint abstains and votes were counted many
// times over and the model lost to majority vote). A group that stays silent is evidence against
// its class; where that overcounts, one abstain per class is read instead (fitLabelModel). It is
// fit by EM on the rows with at least one vote, from majority vote, with Dirichlet(1) smoothing;
// rows whose class a person gave are clamped to it (semi-supervised EM), so active-labelling
// answers anchor it.
//
// Cost per EM iteration is O(votes + rows·classes): a fired LF adds one number to one class of its
// row, because the terms every class shares cancel in the row's normalisation. Those two row loops
// (the M-step's sums, the E-step's posteriors) run in the native kernel library when it loads,
// split over its threads (native/src/label_model.h); the JavaScript loops are the fallback.
import { loadNativeKernels, type NativeKernels } from '../engine/backends/native-kernels.ts';
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
  /**
   * What a rule's precision (P(its class | it fires)) is believed to be before the data speaks: a
   * Beta prior of this mean, worth `rows` pseudo-rows per rule. The default: a rule the expert
   * accepted is right about 85% of the time (the simulated expert accepts above 70%).
   */
  precisionPrior?: { mean: number; rows: number };
  /** Run EM's row loops in JavaScript even where the native kernels load (tests compare the two). */
  forceJs?: boolean;
}

/**
 * Why a precision prior: a rule that overlaps no other rule (and no known row) has a flat
 * likelihood in its precision; EM from majority vote then lets it confirm itself, and every one of
 * its rows came out 99.96% sure. With the prior (MAP-EM) such a rule's precision stays near the
 * prior's mean (0.92–0.96 measured for 0.85: the other rules' silence adds a little); rules that
 * overlap others are judged by the overlaps, the prior worth a few rows.
 */
export const DEFAULT_PRECISION_PRIOR = { mean: 0.85, rows: 20 };

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

/**
 * Share of the rows majority vote gives one class (no tie) where the model's most likely class is
 * the same.
 */
function agreementWithMajority(model: LabelModel, mv: LabelModel, known?: Int32Array): number {
  const k = model.classes;
  let same = 0, total = 0;
  for (let i = 0; i < mv.covered.length; i++) {
    if (!mv.covered[i] || (known && known[i]! >= 0)) continue;
    let best = 0, ties = 0, mine = 0;
    for (let c = 1; c < k; c++) if (mv.probs[i * k + c]! > mv.probs[i * k + best]!) best = c;
    for (let c = 0; c < k; c++) if (mv.probs[i * k + c] === mv.probs[i * k + best]) ties++;
    if (ties > 1) continue;
    for (let c = 1; c < k; c++) if (model.probs[i * k + c]! > model.probs[i * k + mine]!) mine = c;
    total++;
    if (mine === best) same++;
  }
  return total ? same / total : 1;
}

/**
 * The generative model, fit by EM in two readings of abstains, keeping the one that departs less
 * from majority vote. Per group (a silent group is evidence against its class) identifies the
 * accuracies of independent rules, where it beats majority vote (synthetic: 86% vs 78%). But real
 * rules of one class are correlated (cuts around near-duplicate examples, emoji skin tones): the
 * same abstain is counted many times and EM can overturn the rules (emoji, 191 good rules: 30%
 * accurate labels where majority vote gives 80%; Fashion-MNIST, ~400: 70% vs 74%). Per class ("no
 * rule of this class fired", one term) cannot overcount (80%; 73–76%) but misreads independent
 * rules (synthetic: 59%). In every case measured (these, 20-rule subsets, the 100k × 500 timing
 * set) the reading that agreed more with majority vote was the more accurate, or within 1 pt of it.
 * A first fit that agrees on ≥ 95% of rows is kept as is (the second fit doubles the time).
 */
export function fitLabelModel(m: VoteMatrix, options: LabelModelOptions = {}): LabelModel {
  const mv = majorityVote(m, { known: options.known });
  const layout = groupLayout(m, options.known);
  const perGroup = fitGenerative(m, options, mv, layout, false);
  const agree = agreementWithMajority(perGroup, mv, options.known);
  if (agree >= 0.95) return perGroup;
  const perClass = fitGenerative(m, options, mv, layout, true);
  return agreementWithMajority(perClass, mv, options.known) > agree ? perClass : perGroup;
}

/** What both fits share: the rows with votes, and each row's level in each group it votes in. */
function groupLayout(m: VoteMatrix, known: Int32Array | undefined) {
  const { rows: n, classes: k, groups: G } = m;
  const J = m.classOf.length;
  const usedList: number[] = [];
  for (let i = 0; i < n; i++) if (m.rowStart[i + 1]! > m.rowStart[i]! || (known && known[i]! >= 0)) usedList.push(i);
  // Int32 rather than Uint32 throughout: the native kernels take Int32Arrays (votes < 2³¹).
  const used = Int32Array.from(usedList);
  const covered = new Uint8Array(n);
  for (const i of used) covered[i] = 1;
  const N = used.length;

  // Groups: class, size (levels 0…size), and each row's level in each group it votes in.
  const groupClass = new Int32Array(G), groupSize = new Int32Array(G);
  for (let l = 0; l < J; l++) (groupClass[m.groupOf[l]!] = m.classOf[l]!), groupSize[m.groupOf[l]!]!++;
  const levelOffset = new Int32Array(G + 1);
  for (let g = 0; g < G; g++) levelOffset[g + 1] = levelOffset[g]! + groupSize[g]! + 1;
  // Sparse (row → [group, level]) built once: rows see few groups. Each entry holds the class it
  // votes for and its (group, level) cell, so EM's row loops follow one index per entry. At most
  // one entry per vote: typed arrays sized so, no growing lists (100k rows × 500 LFs: ~140 ms → under 35).
  const rowGroupStart = new Int32Array(n + 1);
  const rgClassAll = new Int32Array(m.lf.length), rgCellAll = new Int32Array(m.lf.length);
  const count = new Int32Array(G), touched = new Int32Array(G);
  let entries = 0;
  for (let i = 0; i < n; i++) {
    rowGroupStart[i] = entries;
    if (!covered[i]) continue;
    let seen = 0;
    for (let t = m.rowStart[i]!; t < m.rowStart[i + 1]!; t++) {
      const g = m.groupOf[m.lf[t]!]!;
      if (count[g] === 0) touched[seen++] = g;
      count[g] = count[g]! + 1;
    }
    for (let s = 0; s < seen; s++) {
      const g = touched[s]!;
      rgClassAll[entries] = groupClass[g]!;
      rgCellAll[entries++] = levelOffset[g]! + count[g]!;
      count[g] = 0;
    }
  }
  rowGroupStart[n] = entries;
  const rgClass = rgClassAll.subarray(0, entries), rgCell = rgCellAll.subarray(0, entries);

  // Only classes some LF votes for can be inferred: a class without one has no evidence against
  // it and would absorb rows. Known rows of such a class stay clamped to it.
  const active = new Uint8Array(k);
  for (let l = 0; l < J; l++) active[m.classOf[l]!] = 1;
  const activeCount = Math.max(2, active.reduce((a, b) => a + b, 0));
  return { used, covered, N, groupClass, groupSize, levelOffset, rowGroupStart, rgClass, rgCell, active, activeCount };
}

type LabelModelKernels = Required<Pick<NativeKernels, 'labelModelSums' | 'labelModelPosteriors'>>;
const noKnown = new Int32Array(0);

/** The native EM loops, or null (no library, or one built before them). */
function labelModelKernels(): LabelModelKernels | null {
  const load = loadNativeKernels();
  return load.ok && load.kernels.labelModelSums && load.kernels.labelModelPosteriors ? (load.kernels as LabelModelKernels) : null;
}

/** Log scores → probabilities over the active classes (the others get 0), written to out at offset. */
function softmaxActive(score: Float64Array, active: Uint8Array, out: Float32Array, offset = 0): void {
  let max = -Infinity, z = 0;
  for (let c = 0; c < score.length; c++) max = Math.max(max, score[c]!);
  for (let c = 0; c < score.length; c++) z += (score[c] = active[c] ? Math.exp(score[c]! - max) : 0);
  for (let c = 0; c < score.length; c++) out[offset + c] = score[c]! / z;
}

function fitGenerative(m: VoteMatrix, options: LabelModelOptions, mv: LabelModel, layout: ReturnType<typeof groupLayout>, abstainPerClass: boolean): LabelModel {
  const { rows: n, classes: k, groups: G } = m;
  const { used, covered, N, groupClass, groupSize, levelOffset, rowGroupStart, rgClass, rgCell, active, activeCount } = layout;
  const maxIter = options.iterations ?? 100, tol = options.tolerance ?? 1e-3;
  const known = options.known;

  // Start from majority vote (as soft labels): EM then refines, and cannot permute the classes.
  // Tempered by the precision prior, so a rule that nothing else informs starts near where MAP-EM
  // ends for it (its rows at the prior's mean), not at a self-confirmed 1.
  const prec = options.precisionPrior ?? DEFAULT_PRECISION_PRIOR;
  const q = mv.probs.slice();
  const rest = (1 - prec.mean) / Math.max(1, activeCount - 1);
  for (let i = 0; i < n; i++) {
    if (!covered[i] || (known && known[i]! >= 0) || m.rowStart[i + 1] === m.rowStart[i]) continue;
    for (let c = 0; c < k; c++) if (active[c]) q[i * k + c] = prec.mean * q[i * k + c]! + rest * (1 - q[i * k + c]!);
  }
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
  const noneIn = new Float64Array(k), noneOut = new Float64Array(k), abstain = new Float64Array(k), fired = new Uint8Array(k);
  const term = new Float64Array(levelOffset[G]!);
  const native = options.forceJs ? null : labelModelKernels();
  const sizes = Int32Array.from([N, n, k, levelOffset[G]!, rgClass.length, abstainPerClass ? 1 : 0]);
  // The rows no rule fires on (and no person labelled) share one pattern, all silent: they are
  // counted once with their multiplicity U. Without them, silence looked like strong evidence
  // against a class (its rules seemed to catch nearly all of its rows) and rules that overlap
  // nothing confirmed one another.
  const U = n - N;
  const qU = Float32Array.from(mvMass, (v, c) => (active[c] ? v : 0));
  const qs = qU.reduce((a, b) => a + b, 0) || 1;
  for (let c = 0; c < k; c++) qU[c]! /= qs;

  for (; iterations < maxIter; iterations++) {
    // M-step: level distributions per group, from the rows' class posteriors (Dirichlet(1) smoothing, and the precision prior on fired levels).
    if (native) native.labelModelSums(used, q, rowGroupStart, rgClass, rgCell, massIn, massOut, classTotal, noneIn, noneOut, sizes);
    else {
      massIn.fill(0);
      massOut.fill(0);
      classTotal.fill(0);
      for (let u = 0; u < N; u++) {
        const i = used[u]!;
        for (let c = 0; c < k; c++) classTotal[c]! += q[i * k + c]!;
        for (let t = rowGroupStart[i]!; t < rowGroupStart[i + 1]!; t++) {
          const o = rgCell[t]!, p = q[i * k + rgClass[t]!]!;
          massIn[o]! += p;
          massOut[o]! += 1 - p;
        }
      }
    }
    for (let c = 0; c < k; c++) classTotal[c]! += U * qU[c]!;
    let moved = 0;
    for (let g = 0; g < G; g++) {
      const c = groupClass[g]!, o = levelOffset[g]!, L = groupSize[g]! + 1;
      let inFired = 0, outFired = 0;
      for (let v = 1; v < L; v++) (inFired += massIn[o + v]!), (outFired += massOut[o + v]!);
      massIn[o] = Math.max(0, classTotal[c]! - inFired);
      massOut[o] = Math.max(0, n - classTotal[c]! - outFired);
      // The precision prior's pseudo-rows (for a group that fires), shared among the fired levels as the rows are.
      const firedMass = inFired + outFired;
      const pseudoIn = firedMass > 0 ? prec.rows * prec.mean : 0, pseudoOut = firedMass > 0 ? prec.rows * (1 - prec.mean) : 0;
      for (let v = 1; v < L && firedMass > 0; v++) {
        const share = (massIn[o + v]! + massOut[o + v]!) / firedMass;
        massIn[o + v]! += pseudoIn * share;
        massOut[o + v]! += pseudoOut * share;
      }
      for (let v = 0; v < L; v++) {
        logTheta[o + v] = Math.log((massIn[o + v]! + 1) / (classTotal[c]! + pseudoIn + L));
        logPhi[o + v] = Math.log((massOut[o + v]! + 1) / (n - classTotal[c]! + pseudoOut + L));
        moved = Math.max(moved, Math.abs(Math.exp(logTheta[o + v]!) - Math.exp(previous[o + v]!)) || (Number.isNaN(previous[o + v]!) ? 1 : 0));
      }
    }
    previous = logTheta.slice();
    if (abstainPerClass) {
      // P(no rule of class c fires | y = c) against y ≠ c, one term per class.
      // (The native sums above already counted the rows' silent classes.)
      if (!native) {
        noneIn.fill(0);
        noneOut.fill(0);
        for (let u = 0; u < N; u++) {
          const i = used[u]!;
          for (let t = rowGroupStart[i]!; t < rowGroupStart[i + 1]!; t++) fired[rgClass[t]!] = 1;
          for (let c = 0; c < k; c++) {
            if (!fired[c]) (noneIn[c]! += q[i * k + c]!), (noneOut[c]! += 1 - q[i * k + c]!);
            fired[c] = 0;
          }
        }
      }
      for (let c = 0; c < k; c++) (noneIn[c]! += U * qU[c]!), (noneOut[c]! += U * (1 - qU[c]!));
      for (let c = 0; c < k; c++) abstain[c] = Math.log((noneIn[c]! + 1) / (classTotal[c]! + 2)) - Math.log((noneOut[c]! + 1) / (n - classTotal[c]! + 2));
    }
    if (learnBalance) {
      const pseudo = (0.05 * n) / activeCount;
      for (let c = 0; c < k; c++) prior[c] = active[c] ? (classTotal[c]! + pseudo) / (n + pseudo * activeCount) : 0;
    }
    // E-step. Terms shared by every class cancel; per class: log π_c + Σ_{groups of c} (log θ_g[0] − log φ_g[0]);
    // per group the row votes in: (log θ_g[v] − log φ_g[v]) − (log θ_g[0] − log φ_g[0]) on its class.
    for (let c = 0; c < k; c++) base[c] = logPrior[c] = active[c] ? Math.log(Math.max(prior[c]!, 1e-12)) : -Infinity;
    // Per class instead: log π_c + the class's abstain term, taken back on a row where one of its groups fires.
    if (abstainPerClass) for (let c = 0; c < k; c++) base[c]! += active[c] ? abstain[c]! : 0;
    else for (let g = 0; g < G; g++) base[groupClass[g]!]! += logTheta[levelOffset[g]!]! - logPhi[levelOffset[g]!]!;
    // Each (group, level)'s term on its class, once per iteration rather than once per vote.
    for (let g = 0; g < G; g++) {
      const o = levelOffset[g]!, silent = abstainPerClass ? 0 : logTheta[o]! - logPhi[o]!;
      // An accepted rule firing is never evidence against its class (at worst, none): without the
      // floor, a rule out-voted where it overlaps another could drop below chance and turn its
      // other rows to the other class.
      term[o] = 0;
      for (let v = 1; v <= groupSize[g]!; v++) term[o + v] = Math.max(0, logTheta[o + v]! - logPhi[o + v]! - silent);
    }
    // The hottest loop (rows × classes exponentials): the softmax is written out here, without
    // softmaxActive's calls; an inactive class's base is −∞, so its exponential is 0 as there.
    if (native) native.labelModelPosteriors(used, known ?? noKnown, rowGroupStart, rgClass, rgCell, base, term, abstain, q, sizes);
    else for (let u = 0; u < N; u++) {
      const i = used[u]!;
      if (known && known[i]! >= 0) continue; // clamped
      for (let c = 0; c < k; c++) score[c] = base[c]!;
      for (let t = rowGroupStart[i]!; t < rowGroupStart[i + 1]!; t++) {
        const c = rgClass[t]!;
        if (abstainPerClass && !fired[c]) (fired[c] = 1), (score[c]! -= abstain[c]!);
        score[c]! += term[rgCell[t]!]!;
      }
      if (abstainPerClass) fired.fill(0);
      let max = -Infinity, z = 0;
      for (let c = 0; c < k; c++) if (score[c]! > max) max = score[c]!;
      for (let c = 0; c < k; c++) z += (score[c] = Math.exp(score[c]! - max));
      const o = i * k, inv = 1 / z;
      for (let c = 0; c < k; c++) q[o + c] = score[c]! * inv;
    }
    // The silent pattern's posterior: the base terms alone.
    score.set(base);
    softmaxActive(score, active, qU);
    if (iterations > 0 && moved < tol) break;
  }
  for (let i = 0; i < n; i++) if (!covered[i]) q.fill(0, i * k, (i + 1) * k);
  return { kind: 'generative', classes: k, probs: q, covered, accuracy: lfAgreement(m, q, covered), prior: Float32Array.from(prior), iterations: iterations + 1 };
}
