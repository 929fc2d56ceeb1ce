// Which LF to ask the expert about next (DESIGN §6). Straddle (level-set estimation) asks where
// the ensemble is unsure whether an LF clears the usefulness threshold r: argmax 1.96σ − |μ − r|.
// Random is the baseline. The first queries are a warm start that gives every class an accepted
// LF when it can: for the class with the fewest tries and no accepted LF yet, an LF that agrees
// with the user's example images (fires on some of the class's examples, none of another's).
import { Rng } from '../engine/rng.ts';

export type Acquisition = 'straddle' | 'random';
export const USEFUL_THRESHOLD = 0.6;

export interface AcquisitionInput {
  coverage: ArrayLike<number>;
  classOf: ArrayLike<number>;
  classes: number;
  judged: Set<number>;
  /** LFs the expert accepted (for the warm start: every class should get one). */
  accepted?: Set<number>;
  mean?: Float32Array;
  std?: Float32Array;
  /** Per LF: does it agree with the user's example images (see examplePrecision)? */
  agreesWithExamples?: Uint8Array;
  warmStart?: number;
}

/**
 * What the user's example images already say about each LF: (own examples it fires on + 1) /
 * (examples it fires on + 2), a smoothed precision. Used before the ensemble has learnt anything.
 */
export function examplePrecision(lfs: { classIndex: number; fires: Uint32Array }[], exampleClass: Map<number, number>): Float32Array {
  return Float32Array.from(lfs, (lf) => {
    let own = 0, all = 0;
    for (let t = 0; t < lf.fires.length; t++) {
      const c = exampleClass.get(lf.fires[t]!);
      if (c === undefined) continue;
      all++;
      if (c === lf.classIndex) own++;
    }
    return (own + 1) / (all + 2);
  });
}

export function nextQuery(kind: Acquisition, input: AcquisitionInput, rng: Rng): number | null {
  const J = input.coverage.length;
  const open: number[] = [];
  for (let j = 0; j < J; j++) if (!input.judged.has(j)) open.push(j);
  if (open.length === 0) return null;
  // Warm start: until every class has an accepted LF (at most `warmStart` tries per class), ask
  // about the class with the fewest tries: its widest LF that agrees with the examples, among
  // those no wider than half a class's share of the data (wider ones are rarely precise).
  const tries = new Array(input.classes).fill(0), hasAccepted = new Array(input.classes).fill(false);
  for (const j of input.judged) tries[input.classOf[j]!]++;
  for (const j of input.accepted ?? []) hasAccepted[input.classOf[j]!] = true;
  const maxTries = input.warmStart ?? 3;
  const needy = Array.from({ length: input.classes }, (_, c) => c).filter((c) => !hasAccepted[c] && tries[c] < maxTries).sort((a, b) => tries[a] - tries[b] || a - b);
  for (const cls of needy) {
    const ofClass = open.filter((j) => input.classOf[j] === cls && (!input.agreesWithExamples || input.agreesWithExamples[j]));
    if (ofClass.length === 0) continue;
    const narrow = ofClass.filter((j) => input.coverage[j]! <= 0.5 / input.classes);
    const pool = narrow.length ? narrow : ofClass;
    return pool.reduce((a, b) => (input.coverage[b]! > input.coverage[a]! ? b : a));
  }
  if (kind === 'random' || !input.mean || !input.std) return open[rng.int(open.length)]!;
  let best = open[0]!, bestScore = -Infinity;
  for (const j of open) {
    const score = 1.96 * input.std[j]! - Math.abs(input.mean[j]! - USEFUL_THRESHOLD);
    if (score > bestScore) (bestScore = score), (best = j);
  }
  return best;
}
