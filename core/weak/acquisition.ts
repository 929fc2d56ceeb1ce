// Which LF to ask the expert about next (DESIGN §6). Straddle (level-set estimation) asks where
// the ensemble is unsure whether an LF clears the usefulness threshold r: argmax 1.96σ − |μ − r|.
// Random is the baseline. The first queries are a warm start: for each class in turn, the widest
// LF that agrees with the user's example images (it fires on some of the class's examples and on
// none of another class's), so every class is represented before the ensemble can learn.
import { Rng } from '../engine/rng.ts';

export type Acquisition = 'straddle' | 'random';
export const USEFUL_THRESHOLD = 0.6;

export interface AcquisitionInput {
  coverage: ArrayLike<number>;
  classOf: ArrayLike<number>;
  classes: number;
  judged: Set<number>;
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
  const warm = input.warmStart ?? input.classes;
  if (input.judged.size < warm) {
    // Round-robin over classes, widest LF first.
    const cls = input.judged.size % input.classes;
    const ofClass = open.filter((j) => input.classOf[j] === cls);
    const agreeing = ofClass.filter((j) => input.agreesWithExamples?.[j]);
    const pool = agreeing.length ? agreeing : ofClass.length ? ofClass : open;
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
