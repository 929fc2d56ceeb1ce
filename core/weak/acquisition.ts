// Which LF to ask the expert about next (DESIGN §6). Straddle (level-set estimation) asks where
// the ensemble is unsure whether an LF clears the usefulness threshold r: argmax 1.96σ − |μ − r|.
// Random is the baseline. Both share two rules that only save the expert's time:
// - Warm start: until every class has an accepted LF (at most WARM_START_TRIES per class), ask
//   about the class with the fewest tries: the LF that fires on most of its example images and
//   on none of another class's, narrowest first — a narrow cut close to the examples is the
//   likeliest "Yes", and one "Yes" per class is what the ensemble and the label model need.
// - Nested cuts: LFs of one group are cuts of one score at growing coverage. After a "No" the
//   wider cuts of that group are not asked (they contain the rejected rows); after a "Yes" the
//   narrower ones are not asked (they add no coverage).
// After the warm start, straddle is class-balanced: the next class is the one with the fewest
// accepted LFs (a rejection counting a quarter) for its size (MIN_CLASS_WEIGHT), and straddle
// picks within it. Ranked globally, straddle
// spends its questions on the classes whose LFs the ensemble finds hardest — often two confusable
// classes — and the others never get the LFs that would label them.
// What the ensemble starts from before any answer is usefulnessPrior: the example images' word on
// a rule and its novelty (the share of its images a model of the person's labels alone puts in
// another class).
import { Rng } from '../engine/rng.ts';
import { priorLogOdds } from './ensemble.ts';

export type Acquisition = 'straddle' | 'random';
export const USEFUL_THRESHOLD = 0.6;
/**
 * Warm-start questions per class before straddle takes over. Some classes have no good rule (on
 * emoji, four classes where even the fully supervised model is right on under half the held-out
 * images); four tries each spent most of 50 answers on them. Straddle at 50 answers, two tries
 * against four, paired draws: emoji 67.0 / 66.2% (9 draws; better in 7, −0.1 in one, mean +1.1
 * pt), Fashion-MNIST 68.2 / 68.4% (8 draws).
 */
export const WARM_START_TRIES = 2;
/**
 * Least weight of a class in straddle's class order: a class's weight is k times its share of the
 * images by the model of the person's labels (modelShares), at least this, so a class that model
 * rarely predicts is still asked about. Why weigh: where one class holds most images (emoji:
 * People & Body, 61%), its rules decide most of the labels, and asking every class alike spent
 * most answers on the small ones, four of which have no good rule. Emoji, straddle − random, end
 * model at 25 / 50 / 100 answers (16 draws): unweighted −0.77 / −0.23 / +0.69 point, weighted
 * +0.96 / +0.35 / +1.09; weighted straddle accepts 22.5 rules of 50 against 7.6. Where classes
 * are about equal in size the weights stay near 1 and the order changes less: Fashion-MNIST
 * unweighted +0.82 / +0.79 / +0.11, weighted +0.87 / +0.75 / +0.63.
 */
export const MIN_CLASS_WEIGHT = 0.25;

export interface AcquisitionInput {
  coverage: ArrayLike<number>;
  classOf: ArrayLike<number>;
  classes: number;
  judged: Set<number>;
  /** LFs the expert accepted. */
  accepted?: Set<number>;
  mean?: Float32Array;
  std?: Float32Array;
  /** What the user's example images say of each LF (exampleAgreement). */
  examples?: ExampleAgreement;
  /** Per class: the share of the images a model of the person's labels alone puts in it (modelShares); straddle asks the larger classes more. */
  modelShares?: ArrayLike<number>;
  /** Per LF: its group (cuts of one score), or undefined. */
  groupOf?: (string | undefined)[];
  warmStart?: number;
}

export interface ExampleAgreement {
  /** Smoothed precision on the example images: (own + 1) / (all + 2). */
  prior: Float32Array;
  /** Example images of its own class, and of other classes, each LF fires on. */
  own: Uint16Array;
  other: Uint16Array;
}

/** What the user's example images already say about each LF, before the ensemble has learnt anything. */
export function exampleAgreement(lfs: { classIndex: number; fires: Uint32Array }[], exampleClass: Map<number, number>): ExampleAgreement {
  const own = new Uint16Array(lfs.length), other = new Uint16Array(lfs.length);
  const prior = Float32Array.from(lfs, (lf, j) => {
    let mine = 0, all = 0;
    for (let t = 0; t < lf.fires.length; t++) {
      const c = exampleClass.get(lf.fires[t]!);
      if (c === undefined) continue;
      all++;
      if (c === lf.classIndex) mine++;
    }
    own[j] = mine;
    other[j] = all - mine;
    return (mine + 1) / (all + 2);
  });
  return { prior, own, other };
}

/**
 * Per LF, the share of the rows it fires on that `modelClass` (a model of the person's labels
 * alone, per row; −1: none) puts in another class than the LF's — the images a "Yes" would relabel.
 */
export function ruleNovelty(lfs: { classIndex: number; fires: Uint32Array }[], modelClass: ArrayLike<number>): Float32Array {
  return Float32Array.from(lfs, (lf) => {
    let other = 0;
    for (const r of lf.fires) if (modelClass[r]! >= 0 && modelClass[r] !== lf.classIndex) other++;
    return lf.fires.length ? other / lf.fires.length : 0;
  });
}

/** Per class, the share of the rows `modelClass` (a class per row; −1: none) puts in it. */
export function modelShares(modelClass: ArrayLike<number>, classes: number): Float32Array {
  const counts = new Float32Array(classes);
  let total = 0;
  for (let r = 0; r < modelClass.length; r++) if (modelClass[r]! >= 0) (counts[modelClass[r]!]!++, total++);
  return counts.map((c) => (total ? c / total : 1 / classes));
}

/**
 * P(useful) of each LF before any answer, the base the usefulness ensemble corrects: the example
 * images' smoothed precision, and, where the rules' novelty is known (ruleNovelty), 1 − novelty,
 * their log-odds added (two independent pieces of evidence, each clipped to [0.02, 0.98]). Why
 * novelty: a rule whose images the examples' model mostly puts in other classes is seldom good
 * (accuracy > 0.7): of those, 1–3% are, against 15–30% of all rules. As a ranking of the unjudged
 * rules by usefulness (AUC, draws 0–2, Fashion-MNIST / emoji): the example prior alone 0.78–0.79 /
 * 0.72–0.79, 1 − novelty 0.92–0.96 / 0.96–0.99, both 0.92–0.96 / 0.97–0.99; the ensemble after 50
 * straddle answers 0.78–0.81 / 0.88–0.90 from the example prior, 0.95–0.96 / 0.97–0.99 from both.
 * Until 2026-12-04 straddle added 4 · novelty to its score instead, which sent it to the novel
 * rules: it found one or two good ones early, then asked about bad ones (1 "Yes" in 30).
 */
export function usefulnessPrior(agreement: ExampleAgreement, novelty?: ArrayLike<number> | null): Float32Array {
  if (!novelty) return agreement.prior.slice();
  return Float32Array.from(agreement.prior, (p, j) => 1 / (1 + Math.exp(-(priorLogOdds(p) + priorLogOdds(1 - novelty[j]!)))));
}

/** LFs not worth asking: judged, or implied by a judged cut of the same group. */
function openLfs(input: AcquisitionInput): number[] {
  const J = input.coverage.length;
  const rejectedAt = new Map<string, number>(), acceptedAt = new Map<string, number>();
  if (input.groupOf) {
    for (const j of input.judged) {
      const g = input.groupOf[j];
      if (g === undefined) continue;
      const key = `${input.classOf[j]}|${g}`, cov = input.coverage[j]!;
      if (input.accepted?.has(j)) acceptedAt.set(key, Math.max(acceptedAt.get(key) ?? -Infinity, cov));
      else rejectedAt.set(key, Math.min(rejectedAt.get(key) ?? Infinity, cov));
    }
  }
  const open: number[] = [];
  for (let j = 0; j < J; j++) {
    if (input.judged.has(j)) continue;
    const g = input.groupOf?.[j];
    if (g !== undefined) {
      const key = `${input.classOf[j]}|${g}`, cov = input.coverage[j]!;
      if (cov >= (rejectedAt.get(key) ?? Infinity) || cov <= (acceptedAt.get(key) ?? -Infinity)) continue;
    }
    open.push(j);
  }
  return open;
}

export function nextQuery(kind: Acquisition, input: AcquisitionInput, rng: Rng): number | null {
  let open = openLfs(input);
  if (open.length === 0) {
    // Only implied LFs are left: ask about them rather than stop.
    open = Array.from({ length: input.coverage.length }, (_, j) => j).filter((j) => !input.judged.has(j));
    if (open.length === 0) return null;
  }
  const k = input.classes;
  const tries = new Array(k).fill(0), accepted = new Array(k).fill(0);
  for (const j of input.judged) tries[input.classOf[j]!]++;
  for (const j of input.accepted ?? []) accepted[input.classOf[j]!]++;
  const maxTries = input.warmStart ?? WARM_START_TRIES;
  const needy = Array.from({ length: k }, (_, c) => c).filter((c) => accepted[c] === 0 && tries[c] < maxTries).sort((a, b) => tries[a] - tries[b] || a - b);
  const ex = input.examples;
  for (const cls of needy) {
    // Firing on none of another class's examples; else on more of its own than of others' (prior > ½).
    const clean = ex ? open.filter((j) => input.classOf[j] === cls && ex.own[j]! > 0 && ex.other[j] === 0) : [];
    const ofClass = clean.length ? clean : open.filter((j) => input.classOf[j] === cls && (!ex || ex.own[j]! > ex.other[j]!));
    if (ofClass.length === 0) continue;
    // Most own examples first, then the narrowest cut.
    return ofClass.reduce((a, b) => {
      const oa = ex ? ex.own[a]! : 0, ob = ex ? ex.own[b]! : 0;
      if (ob !== oa) return ob > oa ? b : a;
      return input.coverage[b]! < input.coverage[a]! ? b : a;
    });
  }
  if (kind === 'random' || !input.mean || !input.std) return open[rng.int(open.length)]!;
  const withOpen = new Set(open.map((j) => input.classOf[j]!));
  // A rejection counts as a quarter of an acceptance: a class whose rules keep failing (no good
  // rule may exist for it) is asked about less, not forever. A class's need is divided by its
  // weight (MIN_CLASS_WEIGHT).
  const weight = (c: number) => (input.modelShares ? Math.max(MIN_CLASS_WEIGHT, k * input.modelShares[c]!) : 1);
  const need = (c: number) => (accepted[c] + 0.25 * (tries[c] - accepted[c])) / weight(c);
  const cls = Array.from({ length: k }, (_, c) => c).filter((c) => withOpen.has(c)).sort((a, b) => need(a) - need(b) || a - b)[0]!;
  let best = -1, bestScore = -Infinity;
  for (const j of open) {
    if (input.classOf[j] !== cls) continue;
    const score = 1.96 * input.std[j]! - Math.abs(input.mean[j]! - USEFUL_THRESHOLD);
    if (score > bestScore) (bestScore = score), (best = j);
  }
  return best;
}
