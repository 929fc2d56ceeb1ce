// The interactive weak supervision loop, independent of where answers come from (the IWS view,
// or the simulated expert of `loupe iws simulate`): answers → usefulness ensemble → final LF set
// → label model → end model (with optional self-training).
import { argmaxRows, predictProbabilities, trainClassifier, type Classifier } from '../learn/classifier.ts';
import { Rng } from '../engine/rng.ts';
import { nextQuery, USEFUL_THRESHOLD, type Acquisition } from './acquisition.ts';
import type { Lf } from './candidates.ts';
import { predictUsefulness, type EnsembleOptions, type UsefulnessPrediction } from './ensemble.ts';
import type { Fingerprints } from './fingerprint.ts';
import { fitLabelModel, majorityVote, type LabelModel } from './label-model.ts';
import { voteMatrix } from './votes.ts';

/** The expert's answers to "is this a good rule for class X?", with the label and weight IWS trains on. */
export const answers = {
  useful: { label: 1, weight: 1, text: 'Yes' },
  likely: { label: 1, weight: 0.5, text: 'Probably' },
  unlikely: { label: 0, weight: 0.5, text: 'Probably not' },
  not: { label: 0, weight: 1, text: 'No' },
  unsure: { label: null, weight: 0, text: 'Not sure' },
} as const;
export type Answer = keyof typeof answers;

export function judgedExamples(given: Map<number, Answer>): { lf: number; label: 0 | 1; weight: number }[] {
  const out: { lf: number; label: 0 | 1; weight: number }[] = [];
  for (const [lf, a] of given) {
    const spec = answers[a];
    if (spec.label !== null) out.push({ lf, label: spec.label, weight: spec.weight });
  }
  return out;
}

export function predict(fp: Fingerprints, given: Map<number, Answer>, options: EnsembleOptions = {}): UsefulnessPrediction {
  return predictUsefulness(fp.values, fp.dim, judgedExamples(given), options);
}

export function chooseNext(kind: Acquisition, lfs: Lf[], classes: number, given: Map<number, Answer>, prediction: UsefulnessPrediction | null, rng: Rng,
  prior?: Float32Array): number | null {
  return nextQuery(kind, {
    coverage: lfs.map((l) => l.coverage), classOf: lfs.map((l) => l.classIndex), classes,
    judged: new Set(given.keys()), ...(prediction ? { mean: prediction.mean, std: prediction.std } : {}),
    ...(prior ? { agreesWithExamples: Uint8Array.from(prior, (p) => (p > 0.5 ? 1 : 0)) } : {}),
  }, rng);
}

export type FinalSet = 'validated' | 'validated+predicted';

/**
 * The LFs the label model uses: those the expert called useful, plus (by default) the unjudged
 * ones the ensemble predicts useful, best first by (2μ − 1)·coverage, at most `top` of them.
 */
export function finalLfs(lfs: Lf[], given: Map<number, Answer>, prediction: UsefulnessPrediction | null, mode: FinalSet = 'validated+predicted', top = 150): number[] {
  const chosen = [...given].filter(([, a]) => answers[a].label === 1).map(([j]) => j);
  if (mode === 'validated' || !prediction) return chosen;
  const extra = lfs.map((l, j) => ({ j, mu: prediction.mean[j]!, score: (2 * prediction.mean[j]! - 1) * l.coverage }))
    .filter((c) => !given.has(c.j) && c.mu >= USEFUL_THRESHOLD)
    .sort((a, b) => b.score - a.score).slice(0, top).map((c) => c.j);
  return [...chosen, ...extra];
}

/** The label model over the chosen LFs, on the given rows only (e.g. the training split). */
export function labelRows(lfs: Lf[], chosen: number[], rows: number, classes: number, options: { model?: 'generative' | 'majority'; known?: Int32Array } = {}): LabelModel {
  const m = voteMatrix(rows, classes, chosen.map((j) => lfs[j]!));
  return options.model === 'majority' ? majorityVote(m, { known: options.known }) : fitLabelModel(m, { known: options.known });
}

export interface EndModelOptions {
  classes: number;
  hidden?: number;
  epochs?: number;
  /** Noisy Student rounds: the model pseudo-labels the uncovered rows and a noised student learns from all. */
  selfTraining?: number;
  seed?: number;
}

/** Trains the end model on the label model's probabilistic labels (noise-aware: soft targets weighted by confidence). */
export async function trainEndModel(features: Float32Array, dim: number, rows: number[], lm: LabelModel, options: EndModelOptions): Promise<Classifier | null> {
  const k = options.classes;
  const covered = rows.filter((r) => lm.covered[r]);
  if (covered.length < k) return null;
  const targets = new Float32Array(covered.length * k), weights = new Float32Array(covered.length);
  covered.forEach((r, i) => {
    let top = 0;
    for (let c = 0; c < k; c++) (targets[i * k + c] = lm.probs[r * k + c]!), (top = Math.max(top, lm.probs[r * k + c]!));
    weights[i] = top;
  });
  const base = { classes: k, hidden: options.hidden ?? 0, epochs: options.epochs ?? 200, learningRate: 0.01, l2: 1e-4, seed: options.seed ?? 0 };
  let model = await trainClassifier(features, dim, covered, targets, { ...base, weights });
  const uncovered = rows.filter((r) => !lm.covered[r]);
  const rng = new Rng(options.seed ?? 0);
  for (let round = 0; round < (options.selfTraining ?? 0) && uncovered.length > 0; round++) {
    // Teacher: pseudo-labels for the rows no LF covers, kept where it is confident.
    const probs = predictProbabilities(model, features, uncovered);
    const keep: number[] = [];
    uncovered.forEach((_, i) => { if (Math.max(...probs.subarray(i * k, (i + 1) * k)) >= 0.8) keep.push(i); });
    const all = [...covered, ...keep.map((i) => uncovered[i]!)];
    const t = new Float32Array(all.length * k), w = new Float32Array(all.length);
    t.set(targets);
    w.set(weights);
    keep.forEach((i, q) => {
      const o = (covered.length + q) * k;
      for (let c = 0; c < k; c++) t[o + c] = probs[i * k + c]!;
      w[covered.length + q] = Math.max(...probs.subarray(i * k, (i + 1) * k));
    });
    // Student: the same model on noised inputs (Gaussian, a fraction of a unit row's per-dimension scale).
    const noisy = Float32Array.from(features, (v) => v + rng.normal() * (0.5 / Math.sqrt(dim)));
    model = await trainClassifier(noisy, dim, all, t, { ...base, weights: w, seed: base.seed + round + 1 });
  }
  return model;
}

/** Accuracy of a classifier on rows with a known class. */
export function accuracyOn(model: Classifier, features: Float32Array, rows: number[], truth: Int32Array, classes: number): number {
  if (rows.length === 0) return NaN;
  const pred = argmaxRows(predictProbabilities(model, features, rows), classes);
  let right = 0;
  rows.forEach((r, i) => { if (pred[i] === truth[r]) right++; });
  return right / rows.length;
}
