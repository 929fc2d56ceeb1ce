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
// accepted LFs (a rejection counting a quarter), and straddle picks within it. Ranked globally, straddle
// spends its questions on the classes whose LFs the ensemble finds hardest — often two confusable
// classes — and the others never get the LFs that would label them.
// Within the class, straddle's score gains NOVELTY_WEIGHT times the rule's novelty: the share of
// the images it fires on that the model of the person's labels alone puts in another class.
import { Rng } from '../engine/rng.ts';

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
 * Weight of a rule's novelty in straddle's score (1.96σ − |μ − r| + weight · novelty). The
 * candidates are built from the example images, so most fire where a model of those examples
 * already names the class; a "Yes" there changes few labels, and its wrong images, where classes
 * meet, cost more. Straddle without novelty found good rules at random's pace or slower and
 * accepted the marginal ones (accuracy just above 0.7) it is built to find: Fashion-MNIST at 50
 * answers, 8 draws, 15.3 rules accepted against random's 18.8, end model 67.0% against 68.0%.
 * Weighted by novelty it asks where a "Yes" would relabel images, and ranks those by the
 * ensemble's doubt. It accepts fewer rules (7.6 of 50 on Fashion-MNIST), but they are the ones
 * that move the end model. End model at 25 / 50 answers, 16 draws (seeds 0–15), straddle −
 * random: Fashion-MNIST +0.74 / +0.72 point (better in 11 and 10 of 16), emoji −0.34 / +0.71
 * (7 and 10 of 16). Weights 2 / 4 / 8, 8 draws, at 50: Fashion-MNIST 68.6 / 68.9 / 68.4%,
 * emoji (2, 4) 64.2 / 64.4%. Within noise on emoji (draws 0–7 alone: −0.5 point), and no gain by
 * 100 answers: after ~25 it accepts little (of the rules most of whose images the examples' model
 * puts elsewhere, 2% are good), while random's acceptances add coverage. Bench, 8 draws, at 100,
 * straddle / random: Fashion-MNIST 69.3 / 69.7%, emoji 65.0 / 65.8%. Not better: the weight
 * falling as novel rules are refused (4 · (yes + 5) / (asked + 1)), Fashion-MNIST 68.5% at 100;
 * novelty times μ, 67.6%.
 */
export const NOVELTY_WEIGHT = 4;

export interface AcquisitionInput {
  coverage: ArrayLike<number>;
  classOf: ArrayLike<number>;
  classes: number;
  judged: Set<number>;
  /** LFs the expert accepted. */
  accepted?: Set<number>;
  mean?: Float32Array;
  std?: Float32Array;
  /** Per LF: the share of its images a model of the person's labels alone puts in another class (ruleNovelty). */
  novelty?: ArrayLike<number>;
  /** What the user's example images say of each LF (exampleAgreement). */
  examples?: ExampleAgreement;
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
  // rule may exist for it) is asked about less, not forever.
  const need = (c: number) => accepted[c] + 0.25 * (tries[c] - accepted[c]);
  const cls = Array.from({ length: k }, (_, c) => c).filter((c) => withOpen.has(c)).sort((a, b) => need(a) - need(b) || a - b)[0]!;
  let best = -1, bestScore = -Infinity;
  for (const j of open) {
    if (input.classOf[j] !== cls) continue;
    const score = 1.96 * input.std[j]! - Math.abs(input.mean[j]! - USEFUL_THRESHOLD) + NOVELTY_WEIGHT * (input.novelty?.[j] ?? 0);
    if (score > bestScore) (bestScore = score), (best = j);
  }
  return best;
}
