// The simulated expert (IWS paper, DESIGN §6): answers "useful" exactly when an LF's accuracy on
// the images it fires on exceeds 0.7 by the true labels, flipped with probability `noise`. Used by
// `loupe iws simulate` and `npm run bench -- iws` to measure accuracy against the number of
// answers, for straddle and random acquisition, against active labelling of the same number of
// single images, and against the fully supervised ceiling.
import { Rng } from '../engine/rng.ts';
import { argmaxRows, predictProbabilities, trainClassifier, type Classifier } from '../learn/classifier.ts';
import { l2normalizeRows } from '../learn/vectors.ts';
import { whitenedGeometry } from '../learn/whiten.ts';
import type { LfContext } from '../plugins/contract.ts';
import { exampleAgreement, modelShares, ruleNovelty, usefulnessPrior, type Acquisition } from './acquisition.ts';
import { generateCandidates, type Lf } from './candidates.ts';
import { withKmeansClusterings } from './clusterings.ts';
import { fingerprints, fingerprintSubset } from './fingerprint.ts';
import { accuracyOn, beforePriorMatch, chooseNext, finalLfs, labelRows, predict, trainEndModel, type Answer, type FinalSet } from './iws.ts';
import { emptyLabelModel, type LabelModel } from './label-model.ts';
import { resolveClassShares, type ClassBalance } from './propagate.ts';
import { suggestionModel } from './active.ts';
import { pickImagesToLabel, type PickReason } from './pick-images.ts';
import { hardLabels } from './votes.ts';

export interface SimulationData {
  features: Float32Array;
  dim: number;
  imageIds: number[];
  /** True class per row (−1 unknown). */
  truth: Int32Array;
  classNames: string[];
  train: number[];
  test: number[];
}

export interface SimulationOptions {
  queries: number[];
  acquisition: Acquisition;
  noise?: number;
  examplesPerClass?: number;
  seed?: number;
  ensembleMembers?: number;
  selfTraining?: number;
  /** The rules the label model uses (finalLfs): by default, as the app's sessions, the accepted ones and the predicted-good ones. */
  finalSet?: FinalSet;
  /** Also score the end model on the true labels of the rows the label model covers (truthWhereCovered). */
  diagnose?: boolean;
  /** The expert's word on the classes' sizes; by default answered from the true labels (classBalanceOf). */
  classBalance?: ClassBalance;
  /** The expert's rough shares per class in percent (null: not given); by default classSharesOf. */
  classShares?: (number | null)[];
  onProgress?: (done: number, total: number) => void;
}

/** Training rows per class, by the true labels. */
function trainCounts(data: SimulationData): number[] {
  const counts = new Array(data.classNames.length).fill(0);
  for (const r of data.train) if (data.truth[r]! >= 0) counts[data.truth[r]!]++;
  return counts;
}

/**
 * The simulated expert's answer to "are your classes about equally common?": equal when the
 * largest class of the training rows is at most twice the smallest.
 */
export function classBalanceOf(data: SimulationData): ClassBalance {
  const present = trainCounts(data).filter((c) => c > 0);
  return Math.max(...present) <= 2 * Math.min(...present) ? 'equal' : 'unequal';
}

/**
 * The simulated expert's rough shares: where the classes are not about equally common, the share
 * of each class at least twice as common as an equal share, to the nearest 5%; the others blank.
 * What a person who knows their data would say ("about 60% are People & Body").
 */
export function classSharesOf(data: SimulationData): (number | null)[] {
  const k = data.classNames.length;
  if (classBalanceOf(data) === 'equal') return new Array(k).fill(null);
  const counts = trainCounts(data);
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (c / total >= 2 / k ? Math.max(5, Math.round((20 * c) / total) * 5) : null));
}

export interface SimulationPoint {
  queries: number;
  accepted: number;
  lfsUsed: number;
  /** The rules the label model used (indices of the candidates). */
  rules: number[];
  /** Label model on the training rows: accuracy on the rows it covers, and the share it covers. */
  labelModel: { accuracy: number; coverage: number };
  majorityVote: { accuracy: number; coverage: number };
  /** End model trained on the label model's labels, on the held-out rows. */
  endModel: number;
  /**
   * With `diagnose`: the same end model trained on the true labels of the rows the label model
   * covers (and the examples) — where perfectly accurate rules would lead. Against `endModel` it
   * tells the rules' errors from their coverage.
   */
  truthWhereCovered?: number;
  /**
   * With `diagnose`: the same, but only the rows the label model labels right keep their label
   * (its wrong ones are dropped, not corrected). Against `truthWhereCovered` it tells whether the
   * end model lacks the rules' wrong rows removed or their right class: the rows rules get wrong
   * lie where classes meet, and there a right label teaches most.
   */
  rightWhereCovered?: number;
  /**
   * With `diagnose`, per class: the share of its training rows the label model labels, and the
   * end model's accuracy on its held-out rows — which classes the rules leave to propagation.
   */
  perClass?: { coverage: number[]; endModel: number[] };
  /**
   * With `diagnose`: on the training rows the label model labels, its accuracy and that of the end
   * model trained on the example images alone; and the latter's on the rows it leaves. Whether the
   * rules tell anything the examples do not already.
   */
  whereRulesLabel?: { labelModel: number; examplesOnly: number; examplesOnlyElsewhere: number };
}

export interface SimulationResult {
  candidates: number;
  proposed: number;
  points: SimulationPoint[];
  seconds: number;
}

/** The user's starting point: a few example images per class (from the training rows). */
export function pickExamples(data: SimulationData, perClass: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return data.classNames.map((_, c) => rng.shuffle(data.train.filter((r) => data.truth[r] === c)).slice(0, perClass));
}

/** The candidates' context as a session builds it; `classSizes` is the expert's word on the classes' sizes. */
export async function lfContextFor(data: SimulationData, examples: number[][], seed: number, classSizes: ClassBalance = classBalanceOf(data)): Promise<LfContext> {
  const features = l2normalizeRows(data.features, data.dim);
  const clusterings = await withKmeansClusterings(features, data.dim, data.classNames.length, [], { seed });
  const rng = new Rng(seed);
  return {
    features, dim: data.dim, imageIds: data.imageIds,
    classes: data.classNames.map((name, index) => ({ index, name, examples: examples[index]! })),
    clusterings, random: () => rng.uniform(0, 1), classSizes,
  };
}

/** Accuracy of an LF on the rows it fires on, by the true labels (training rows only). */
function trueAccuracy(lf: Lf, truth: Int32Array, isTrain: Uint8Array): number {
  let right = 0, seen = 0;
  for (let t = 0; t < lf.fires.length; t++) {
    const r = lf.fires[t]!;
    if (!isTrain[r] || truth[r]! < 0) continue;
    seen++;
    if (truth[r] === lf.classIndex) right++;
  }
  return seen ? right / seen : 0;
}

/**
 * One draw's setup, built once per data set and draw settings: the bench runs four simulations on
 * each draw (straddle, random, every good rule, the rules that correct), and each rebuilt the same
 * k-means clusterings and candidates.
 */
const setups = new WeakMap<SimulationData, Map<string, ReturnType<typeof buildSetup>>>();
function simulationSetup(data: SimulationData, seed: number, examplesPerClass: number, classBalance = classBalanceOf(data), typedShares = classSharesOf(data)): ReturnType<typeof buildSetup> {
  const key = JSON.stringify([seed, examplesPerClass, classBalance, typedShares]);
  let byKey = setups.get(data);
  if (!byKey) setups.set(data, (byKey = new Map()));
  let setup = byKey.get(key);
  if (!setup) byKey.set(key, (setup = buildSetup(data, seed, examplesPerClass, classBalance, typedShares)));
  return setup;
}

/** What every simulation of one draw shares: the examples, the candidate LFs, the truth about them, the training rows. */
async function buildSetup(data: SimulationData, seed: number, examplesPerClass: number, classBalance: ClassBalance, typedShares: (number | null)[]) {
  const classShares = resolveClassShares(typedShares);
  const n = data.imageIds.length;
  const examples = pickExamples(data, examplesPerClass, seed);
  const ctx = await lfContextFor(data, examples, seed, classBalance);
  const { lfs, proposed } = generateCandidates(ctx);
  const isTrain = new Uint8Array(n);
  for (const r of data.train) isTrain[r] = 1;
  const useful = lfs.map((lf) => trueAccuracy(lf, data.truth, isTrain) > 0.7);
  // The training rows as a matrix of their own, for the label model.
  const trainIndex = new Int32Array(n).fill(-1);
  data.train.forEach((r, i) => (trainIndex[r] = i));
  const trainLfs = lfs.map((lf) => {
    const kept = [...lf.fires.keys()].filter((t) => isTrain[lf.fires[t]!]);
    const fires = Uint32Array.from(kept, (t) => trainIndex[lf.fires[t]!]!);
    return lf.margin ? { ...lf, fires, margin: Float32Array.from(kept, (t) => lf.margin![t]!) } : { ...lf, fires };
  });
  const trainTruth = Int32Array.from(data.train, (r) => data.truth[r]!);
  // The user's example images are labels they gave: the label model and the end model use them.
  const known = new Int32Array(data.train.length).fill(-1);
  examples.forEach((rows, c) => rows.forEach((r) => { if (trainIndex[r]! >= 0) known[trainIndex[r]!] = c; }));
  const trainFeatures = new Float32Array(data.train.length * data.dim);
  data.train.forEach((r, i) => trainFeatures.set(data.features.subarray(r * data.dim, (r + 1) * data.dim), i * data.dim));
  /** The label model on the chosen LFs → end model on the training rows. */
  const endModel = (lm: LabelModel, selfTraining = 0, labels = known) =>
    trainEndModel(trainFeatures, data.dim, data.train.map((_, i) => i), lm, { classes: data.classNames.length, known: labels, selfTraining, classBalance, ...(classShares ? { classShares } : {}), seed });
  /** … and its accuracy on the held-out rows. */
  const endModelAccuracy = async (lm: LabelModel, selfTraining = 0, labels = known) => {
    const model = await endModel(lm, selfTraining, labels);
    return model ? accuracyOn(model, data.features, data.test, data.truth, data.classNames.length) : 0;
  };
  /** No rule labels: the diagnostics' models learn from the labels they are given alone. */
  const noRules = emptyLabelModel(data.train.length, data.classNames.length);
  /** The end model on the true labels of the rows `lm` covers, plus the examples. */
  const truthWhereCovered = async (lm: LabelModel) => {
    const labels = Int32Array.from(known, (c, i) => (c >= 0 ? c : lm.covered[i] ? trainTruth[i]! : -1));
    return endModelAccuracy(noRules, 0, labels);
  };
  /** The end model on the label model's right hard labels (−1: none) only, plus the examples. */
  const rightWhereCovered = async (labels: Int32Array) => {
    const right = Int32Array.from(known, (c, i) => (c >= 0 ? c : labels[i] === trainTruth[i] ? labels[i]! : -1));
    return endModelAccuracy(noRules, 0, right);
  };
  /** The end model on the example images alone (fitted once, on first use): the 0-answer point and the diagnostics' baseline. */
  let examplesOnly: Promise<Classifier | null> | null = null;
  const examplesOnlyModel = () => (examplesOnly ??= endModel(noRules));
  /** Its class for each training row (−1: no model), computed once: every query point compares with the same. */
  let examplesOnlyClasses: Promise<Int32Array> | null = null;
  const examplesOnlyTrainClasses = () => (examplesOnlyClasses ??= examplesOnlyModel().then((model) => model
    ? argmaxRows(predictProbabilities(model, trainFeatures, data.train.map((_, i) => i)), data.classNames.length)
    : new Int32Array(data.train.length).fill(-1)));
  /** Label model against the examples-only model, where the label model labels (hard labels, −1: none). */
  const whereRulesLabel = async (labels: Int32Array) => {
    const base = await examplesOnlyTrainClasses();
    let covered = 0, lmRight = 0, baseRight = 0, rest = 0, restRight = 0;
    labels.forEach((l, i) => {
      const truth = trainTruth[i]!;
      if (truth < 0) return;
      if (l < 0) {
        rest++;
        if (base[i] === truth) restRight++;
        return;
      }
      covered++;
      if (l === truth) lmRight++;
      if (base[i] === truth) baseRight++;
    });
    return { labelModel: covered ? lmRight / covered : NaN, examplesOnly: covered ? baseRight / covered : NaN, examplesOnlyElsewhere: rest ? restRight / rest : NaN };
  };
  return { examples, lfs, proposed, useful, trainLfs, trainTruth, known, endModel, endModelAccuracy, examplesOnlyModel, examplesOnlyTrainClasses, truthWhereCovered, rightWhereCovered, whereRulesLabel };
}

/**
 * Every good candidate at once: the end model when the label model uses every LF the simulated
 * expert would accept (where endless answers and a perfect ensemble lead). When IWS at 50 answers
 * is close to it, better acquisition cannot help; better candidates or a better embedding can. Not
 * an upper bound: hundreds of correlated rules can label worse than a few (emoji).
 */
export async function acceptAllUseful(data: SimulationData, options: { seed?: number; examplesPerClass?: number; classBalance?: ClassBalance; classShares?: (number | null)[] } = {}): Promise<{ accepted: number; endModel: number }> {
  const setup = await simulationSetup(data, options.seed ?? 0, options.examplesPerClass ?? 3, options.classBalance, options.classShares);
  const chosen = setup.lfs.map((_, j) => j).filter((j) => setup.useful[j]);
  const lm = labelRows(setup.trainLfs, chosen, data.train.length, data.classNames.length, { known: setup.known });
  return { accepted: chosen.length, endModel: await setup.endModelAccuracy(lm) };
}

/** How far the examples-only model agrees with a rule: the share of its training rows it puts in another class. */
export const DISAGREEMENT_BANDS = [
  { name: 'agrees', below: 0.1 },
  { name: 'partly', below: 0.5 },
  { name: 'mostly not', below: Infinity },
] as const;

export interface CorrectingRules {
  /** Per band of DISAGREEMENT_BANDS: candidates, how many are good rules, and those good rules' mean gain. */
  bands: { name: string; candidates: number; good: number; meanGain: number }[];
  /** The end model on the good rules of most gain, `rules` of them taken class by class in turn. */
  bestByGain: { rules: number; endModel: number }[];
}

/**
 * Which good rules would lift the end model, and how rare they are; the truth decides, so this is
 * the bench's diagnostic, not something a session could do. A rule's gain, against the model of
 * the example images alone: the training rows it labels right that the model gets wrong, less
 * those it labels wrong that the model gets right. A good rule the model agrees with adds nearly
 * nothing, and one it mostly disagrees with is seldom good. `bestByGain` accepts the good rules of
 * most gain (class by class, as the straddle acquisition balances classes): where an acquisition
 * that knew the truth would get with as many accepted rules as a session has after 50 answers.
 */
export async function rulesThatCorrect(data: SimulationData, options: { seed?: number; examplesPerClass?: number; rules?: number[] } = {}): Promise<CorrectingRules> {
  const k = data.classNames.length;
  const setup = await simulationSetup(data, options.seed ?? 0, options.examplesPerClass ?? 3);
  const model = await setup.examplesOnlyTrainClasses();
  const gain = new Float64Array(setup.lfs.length);
  const bands = DISAGREEMENT_BANDS.map((b) => ({ name: b.name, candidates: 0, good: 0, meanGain: 0 }));
  setup.trainLfs.forEach((lf, j) => {
    let disagree = 0, seen = 0;
    for (const i of lf.fires) {
      const truth = setup.trainTruth[i]!;
      if (truth < 0) continue;
      seen++;
      if (model[i] !== lf.classIndex) disagree++;
      const ruleRight = truth === lf.classIndex, modelRight = model[i] === truth;
      if (ruleRight && !modelRight) gain[j]!++;
      else if (!ruleRight && modelRight) gain[j]!--;
    }
    if (seen === 0) return;
    const band = bands[DISAGREEMENT_BANDS.findIndex((b) => disagree / seen < b.below)]!;
    band.candidates++;
    if (setup.useful[j]) (band.good++, (band.meanGain += gain[j]!));
  });
  for (const b of bands) b.meanGain = b.good ? b.meanGain / b.good : 0;
  const byClass = Array.from({ length: k }, (_, c) => setup.lfs.map((_, j) => j).filter((j) => setup.useful[j] && setup.lfs[j]!.classIndex === c && gain[j]! > 0).sort((a, b) => gain[b]! - gain[a]!));
  const bestByGain: CorrectingRules['bestByGain'] = [];
  for (const count of options.rules ?? [15, 25]) {
    const chosen: number[] = [];
    for (let t = 0; chosen.length < count && byClass.some((js) => t < js.length); t++) {
      for (let c = 0; c < k && chosen.length < count; c++) if (t < byClass[c]!.length) chosen.push(byClass[c]![t]!);
    }
    const lm = labelRows(setup.trainLfs, chosen, data.train.length, k, { known: setup.known });
    bestByGain.push({ rules: chosen.length, endModel: await setup.endModelAccuracy(lm) });
  }
  return { bands, bestByGain };
}

export async function simulateIws(data: SimulationData, options: SimulationOptions): Promise<SimulationResult> {
  const started = performance.now();
  const seed = options.seed ?? 0, k = data.classNames.length, n = data.imageIds.length;
  const rng = new Rng(seed + 17);
  const { examples, lfs, proposed, useful, trainLfs, trainTruth, known, endModel, examplesOnlyModel, examplesOnlyTrainClasses, truthWhereCovered, rightWhereCovered, whereRulesLabel } = await simulationSetup(data, seed, options.examplesPerClass ?? 3, options.classBalance, options.classShares);
  const fp = fingerprints(lfs, k, fingerprintSubset(n, 2000, seed), { seed });
  // As the app does (session.ts): novelty and the classes' shares by the model of the example images alone.
  const examplesOnlyClass = await examplesOnlyTrainClasses();
  const novelty = ruleNovelty(trainLfs, examplesOnlyClass), shares = modelShares(examplesOnlyClass, k);
  const exampleClass = new Map<number, number>();
  examples.forEach((rows, c) => rows.forEach((r) => exampleClass.set(r, c)));
  const agreement = exampleAgreement(lfs, exampleClass), prior = usefulnessPrior(agreement, novelty);
  const given = new Map<number, Answer>();
  const points: SimulationPoint[] = [];
  const maxQ = Math.max(...options.queries);
  let prediction = null;
  const score = (labels: Int32Array) => {
    let covered = 0, right = 0;
    labels.forEach((l, i) => { if (l >= 0) { covered++; if (l === trainTruth[i]) right++; } });
    return { accuracy: covered ? right / covered : 0, coverage: covered / labels.length };
  };
  if (options.queries.includes(0)) {
    // No answer yet: the end model on the example images alone, the baseline every answer should lift.
    const none = { accuracy: 0, coverage: 0 };
    const model = await examplesOnlyModel();
    points.push({ queries: 0, accepted: 0, lfsUsed: 0, rules: [], labelModel: none, majorityVote: none, endModel: model ? accuracyOn(model, data.features, data.test, data.truth, k) : 0 });
  }
  for (let q = 1; q <= maxQ; q++) {
    const next = chooseNext(options.acquisition, lfs, k, given, prediction, rng, agreement, shares);
    if (next === null) break;
    const flip = rng.uniform(0, 1) < (options.noise ?? 0);
    given.set(next, useful[next] !== flip ? 'useful' : 'not');
    if (options.acquisition === 'straddle' || options.queries.includes(q)) prediction = predict(fp, given, { members: options.ensembleMembers ?? 10, seed: seed + q, prior });
    options.onProgress?.(q, maxQ);
    if (!options.queries.includes(q)) continue;
    const chosen = finalLfs(lfs, given, prediction, options.finalSet ?? 'validated+predicted');
    const lm = labelRows(trainLfs, chosen, data.train.length, k, { known });
    const mv = labelRows(trainLfs, chosen, data.train.length, k, { model: 'majority', known });
    const labels = hardLabels(lm).label;
    const model = await endModel(lm, options.selfTraining ?? 0);
    points.push({
      queries: q, accepted: [...given.values()].filter((a) => a === 'useful').length, lfsUsed: chosen.length, rules: chosen,
      labelModel: score(labels), majorityVote: score(hardLabels(mv).label),
      // End model on the training rows' features, labelled by the label model; scored on the test rows.
      endModel: model ? accuracyOn(model, data.features, data.test, data.truth, k) : 0,
      ...(options.diagnose ? {
        truthWhereCovered: await truthWhereCovered(lm),
        rightWhereCovered: await rightWhereCovered(labels),
        whereRulesLabel: await whereRulesLabel(labels),
        perClass: { coverage: coverageByClass(labels, trainTruth, k), endModel: model ? accuracyByClass(model, data, k) : new Array(k).fill(0) },
      } : {}),
    });
  }
  return { candidates: lfs.length, proposed, points, seconds: (performance.now() - started) / 1000 };
}

export interface ActiveLabelingPoint {
  /** Images labelled after the examples. */
  labels: number;
  /** The end model's accuracy on the held-out images, overall and per class (by the true class). */
  accuracy: number;
  perClass: number[];
  /** Training images the applied rules label and no person has. */
  ruleLabelled: number;
}

/**
 * Active labelling of single images, the alternative use of the same expert time: start from the
 * same few examples per class, then label, in small batches, the images the app would suggest
 * (active.ts's suggestion model; pick-images.ts: half typical images of unlabelled regions, half
 * least certain while labels are few, then least certain only). `only` forces one kind
 * throughout, for comparison.
 */
export async function simulateActiveLabeling(data: SimulationData, budgets: number[], options: { seed?: number; examplesPerClass?: number; batch?: number; only?: PickReason; classShares?: (number | null)[]; rules?: number[] } = {}): Promise<ActiveLabelingPoint[]> {
  const seed = options.seed ?? 0, k = data.classNames.length, n = data.imageIds.length;
  const examples = pickExamples(data, options.examplesPerClass ?? 3, seed);
  const labelled = new Set(examples.flat());
  const out: ActiveLabelingPoint[] = [];
  const max = Math.max(...budgets);
  let asked = 0;
  // The app's suggestion model (active.ts: IWS's end model, label propagation then the linear head),
  // with no LF labels — or with the labels of `rules` (candidates of the same draw, as a
  // simulateIws point lists them), as the app's suggestions read the labels an IWS session applied
  // (fixed from then on).
  let rules = emptyLabelModel(n, k);
  if (options.rules?.length) {
    const { lfs } = await simulationSetup(data, seed, options.examplesPerClass ?? 3);
    const exampleLabels = new Int32Array(n).fill(-1);
    examples.forEach((rows, c) => rows.forEach((r) => (exampleLabels[r] = c)));
    rules = labelRows(lfs, options.rules, n, k, { known: exampleLabels });
  }
  const classBalance = classBalanceOf(data), classShares = resolveClassShares(options.classShares ?? classSharesOf(data));
  // The picks compare images in the whitened geometry, as the app's do (active.ts), and the graph
  // choice reads the same rows.
  const unit = whitenedGeometry(data.features, data.dim);
  const fit = async () => {
    const known = new Int32Array(n).fill(-1);
    for (const r of labelled) known[r] = data.truth[r]!;
    return (await suggestionModel(data.features, data.dim, data.train, known, rules, { classes: k, classBalance, ...(classShares ? { classShares } : {}), seed, whitened: unit }))!;
  };
  // The training images the applied rules label and no person has: their labels seed the model.
  const ruleLabelled = () => data.train.filter((r) => rules.covered[r] && !labelled.has(r)).length;
  let model = await fit();
  const point = (labels: number): ActiveLabelingPoint => ({ labels, accuracy: accuracyOn(model, data.features, data.test, data.truth, k), perClass: accuracyByClass(model, data, k), ruleLabelled: ruleLabelled() });
  if (budgets.includes(0)) out.push(point(0));
  while (asked < max) {
    const step = Math.min(options.batch ?? 5, max - asked);
    const current = model;
    const { rows } = await pickImagesToLabel({
      features: unit, dim: data.dim, pool: data.train.filter((r) => !labelled.has(r)), covered: [...labelled], classes: k, count: step,
      probabilities: (rows) => predictProbabilities(beforePriorMatch(current), data.features, rows), seed: seed + asked,
    }, options.only ? { only: options.only } : {});
    for (const r of rows) labelled.add(r);
    asked += step;
    model = await fit();
    if (budgets.includes(asked)) out.push(point(asked));
  }
  return out;
}

/** Share of each class's rows that carry a label (−1: none), by the true class. */
function coverageByClass(labels: Int32Array, truth: Int32Array, k: number): number[] {
  const all = new Array(k).fill(0), labelled = new Array(k).fill(0);
  truth.forEach((c, i) => { if (c >= 0) (all[c]++, labels[i]! >= 0 && labelled[c]++); });
  return all.map((a, c) => (a ? labelled[c] / a : 0));
}

/** A classifier's accuracy on each class's held-out rows. */
function accuracyByClass(model: Classifier, data: SimulationData, k: number): number[] {
  const pred = argmaxRows(predictProbabilities(model, data.features, data.test), k);
  const all = new Array(k).fill(0), right = new Array(k).fill(0);
  data.test.forEach((r, i) => { const c = data.truth[r]!; if (c >= 0) (all[c]++, pred[i] === c && right[c]++); });
  return all.map((a, c) => (a ? right[c] / a : 0));
}

/** The fully supervised ceiling: the same end model on every training label; overall and per class. */
export async function supervisedCeiling(data: SimulationData, seed = 0): Promise<{ accuracy: number; perClass: number[] }> {
  const k = data.classNames.length;
  const rows = data.train.filter((r) => data.truth[r]! >= 0);
  const model = await trainClassifier(data.features, data.dim, rows, Int32Array.from(rows, (r) => data.truth[r]!), { classes: k, epochs: 300, learningRate: 0.01, l2: 1e-4, seed });
  return { accuracy: accuracyOn(model, data.features, data.test, data.truth, k), perClass: accuracyByClass(model, data, k) };
}
