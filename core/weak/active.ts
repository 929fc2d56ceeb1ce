// Active labelling: the images most worth a person's label next. The model behind the suggestions
// is the end model IWS applies (suggestionModel: the labels so far spread over the embedding's
// neighbour graph, with the person's word on class sizes, then a linear head), so the simulated
// expert of the benchmark (simulate.ts) picks with what the user gets. Human, imported and
// named-cluster labels count as a person's; label-model labels as soft labels of their
// confidence. Which images to suggest is pick-images.ts's: while labels are few, half typical
// images of regions no label covers and half the least certain; once there are many, the least
// certain. Suggestions come in batches so the labelling UI always has the next image ready.
import { activateBackend } from '../engine/backends/select.ts';
import { readEmbeddings } from '../engine/embed.ts';
import { heldOutLabels, labelsByTrust } from '../engine/labels.ts';
import { LoupeError } from '../errors.ts';
import { argmaxRows, predictProbabilities, rowsOf } from '../learn/classifier.ts';
import { whitenedGeometry } from '../learn/whiten.ts';
import type { Project } from '../store/project.ts';
import { latestEmbedding, listRuns } from '../store/runs.ts';
import { heldOutImages } from '../store/splits.ts';
import { beforePriorMatch, trainEndModel, withPriorShift, type EndModel } from './iws.ts';
import type { LabelModel } from './label-model.ts';
import { pickImagesToLabel, type PickReason } from './pick-images.ts';
import { resolveClassShares, type ClassBalance } from './propagate.ts';
import { latestSession, sessionClassBalance, sessionClassShares } from './store.ts';

/**
 * Most images the suggestion model's neighbour graph links (the person's labelled images always,
 * a random sample of the rest; the linear head still scores every image). Exact neighbours grow
 * as n²: the cap keeps a refill of the queue within seconds on a large dataset (see
 * bench/iws.ts for the time measured), and the benchmark sets stay under it.
 */
export const SUGGESTION_GRAPH_ROWS = 10_000;

export interface SuggestionModelOptions {
  classes: number;
  classBalance: ClassBalance;
  /** Resolved shares (resolveClassShares), where the person gave any. */
  classShares?: (number | null)[];
  seed?: number;
  maxRows?: number;
  /** Every row in the whitened geometry (the picks' rows, kept per embedding): the graph choice reads them. */
  whitened?: Float32Array;
}

/**
 * The model behind the suggestions: the end model IWS applies, on the labels so far — a person's
 * (`known`, certain) and the label model's (`lm`, soft). Shared with the simulated expert.
 */
export async function suggestionModel(features: Float32Array, dim: number, rows: number[], known: Int32Array, lm: LabelModel, options: SuggestionModelOptions): Promise<EndModel | null> {
  return trainEndModel(features, dim, rows, lm, {
    classes: options.classes, known, classBalance: options.classBalance, ...(options.classShares ? { classShares: options.classShares } : {}),
    seed: options.seed ?? 0, propagation: { maxRows: options.maxRows ?? SUGGESTION_GRAPH_ROWS, ...(options.whitened ? { whitened: options.whitened } : {}) },
  });
}

/**
 * What the dataset's latest IWS session says of class sizes, for the classes named here: its
 * balance, and its rough shares mapped by class name (a class the session does not know is
 * blank). Shares that no longer resolve (a class renamed away) are dropped rather than failing a
 * suggestion.
 */
function sizeAnswers(project: Project, datasetId: number, classes: string[]): { classBalance: ClassBalance; classShares?: (number | null)[] } {
  const session = latestSession(project.db, datasetId);
  if (!session) return { classBalance: 'unknown' };
  const classBalance = sessionClassBalance(session), given = sessionClassShares(session);
  const byName = new Map(session.classes.map((c, i) => [c.name, given[i]!]));
  try {
    const shares = resolveClassShares(classes.map((name) => byName.get(name) ?? null));
    return { classBalance, ...(shares ? { classShares: shares } : {}) };
  } catch {
    return { classBalance };
  }
}

/** Refused when the labels name fewer than two classes (or lie outside the embedding). */
const needsTwoClasses = () => new LoupeError('invalid-input', 'Active labelling needs labels of at least two classes to start from.', { hint: 'Name two concepts in Explore, or label a few images of each class by hand.' });

export interface Suggestion {
  imageId: number;
  /** Why it was picked: typical of a region with no label yet, or one the model is unsure of. */
  reason: PickReason;
  /** The model's current guess and its probability, shown beside the image. */
  guess: string;
  confidence: number;
}

/**
 * Whether labelling still pays, after each refill: what the person needs to decide when to stop.
 * Both come from the model behind the suggestions, the one the labels so far make.
 */
export interface LabellingProgress {
  /** Its score on the validation and test images a person labelled (their own or imported labels); null when there are none. */
  heldOut: { images: number; accuracy: number } | null;
  /**
   * The share of the dataset's images whose guessed class differs from the previous refill's
   * model (same embedding and classes); null on the first. Needs no held-out labels: when a few
   * more labels no longer move the guesses, more of the same will change little.
   */
  changed: number | null;
}

export interface Suggestions {
  items: Suggestion[];
  classes: string[];
  /** Images the person labelled (training split). */
  labelled: number;
  progress: LabellingProgress;
}

/**
 * The last refill's model per dataset and labelling view (`view`: each open Label view names
 * itself, so two windows labelling one dataset each compare with their own last refill): what it
 * learnt from, its guesses, and how far they had moved. Per project: a closed one is dropped with
 * it. At most LAST_GUESSES_KEPT entries, the least recently refilled dropped first (each holds a
 * guess per image).
 */
const lastGuesses = new WeakMap<Project, Map<string, { key: string; labels: number; guesses: Int32Array; changed: number | null }>>();
const LAST_GUESSES_KEPT = 8;

/** A fingerprint of the labels a model learns from (row, class), so a refill after skips alone is not taken for a new model. */
function labelsFingerprint(known: Int32Array, lm: LabelModel, k: number): number {
  let h = 0x811c9dc5;
  const mix = (v: number) => { h = Math.imul(h ^ v, 0x01000193) >>> 0; };
  for (let r = 0; r < known.length; r++) {
    if (known[r]! >= 0) (mix(r), mix(known[r]!));
    else if (lm.covered[r]) {
      let c = 0;
      for (let d = 1; d < k; d++) if (lm.probs[r * k + d]! > lm.probs[r * k + c]!) c = d;
      mix(r), mix(k + c);
    }
  }
  return h;
}

/**
 * The share of rows whose guess differs from the last model of other labels (same embedding and
 * classes: `key`); null for the first model. A refill on the same labels repeats the last figure.
 */
function guessesChanged(project: Project, slot: string, key: string, labels: number, guesses: Int32Array): number | null {
  let bySlot = lastGuesses.get(project);
  if (!bySlot) lastGuesses.set(project, (bySlot = new Map()));
  const before = bySlot.get(slot);
  bySlot.delete(slot); // re-inserted last: the map's order is the refills' order
  const sameLabels = before !== undefined && before.key === key && before.labels === labels;
  let changed: number | null = null;
  if (sameLabels) changed = before.changed;
  else if (before && before.key === key && before.guesses.length === guesses.length) {
    let moved = 0;
    for (let i = 0; i < guesses.length; i++) if (guesses[i] !== before.guesses[i]) moved++;
    changed = guesses.length ? moved / guesses.length : 0;
  }
  bySlot.set(slot, sameLabels ? before : { key, labels, guesses, changed });
  for (const old of bySlot.keys()) {
    if (bySlot.size <= LAST_GUESSES_KEPT) break;
    bySlot.delete(old);
  }
  return changed;
}

/**
 * The model's guesses (class index per embedding row) against a person's labels of the held-out
 * images (heldOutLabels). A class the model never saw labelled counts too: it is wrong there, and
 * the person should see it.
 */
function heldOutAccuracy(project: Project, datasetId: number, rowOf: Map<number, number>, classes: string[], guesses: Int32Array): LabellingProgress['heldOut'] {
  const index = new Map(classes.map((c, i) => [c, i]));
  let images = 0, right = 0;
  for (const [id, name] of heldOutLabels(project.db, datasetId)) {
    const row = rowOf.get(id);
    if (row === undefined) continue;
    images++;
    if (index.get(name) === guesses[row]) right++;
  }
  return images ? { images, accuracy: right / images } : null;
}

/**
 * The embedding's rows in the geometry the picks compare (whitenedGeometry), kept for the last
 * embedding asked about per project: it depends on the embedding alone, and on 100,000 images
 * projecting every row takes a second or two of each refill.
 */
const lastPickGeometry = new WeakMap<Project, { embeddingId: number; rows: Float32Array }>();
function pickGeometry(project: Project, embeddingId: number, features: Float32Array, dim: number): Float32Array {
  const kept = lastPickGeometry.get(project);
  if (kept?.embeddingId === embeddingId && kept.rows.length === features.length) return kept.rows;
  const rows = whitenedGeometry(features, dim);
  lastPickGeometry.set(project, { embeddingId, rows });
  return rows;
}

/**
 * `view` names the labelling view asking (any string it keeps while open): the progress's "moved"
 * share compares with that view's last refill.
 */
export async function suggestImages(project: Project, datasetId: number, count: number, exclude: number[] = [], view = ''): Promise<Suggestions> {
  await activateBackend();
  const run = listRuns(project.db, datasetId).filter((r) => r.encoder && latestEmbedding(project.db, r.id)).sort((a, b) => b.id - a.id)[0];
  if (!run) throw new LoupeError('conflict', 'Active labelling needs an embedded dataset.', { hint: 'Train an encoder and embed the images (Train view) first.' });
  const row = latestEmbedding(project.db, run.id)!;
  const emb = readEmbeddings(project, row);
  // The model learns from the embedding as stored (trainEndModel, iws.ts); the picks compare
  // images in the whitened geometry (whiten.ts).
  const features = emb.features, unit = pickGeometry(project, row.id, features, row.dim);
  const rowOf = new Map(emb.imageIds.map((id, i) => [id, i]));
  // Learnt from and suggested: the training split (and images in none). Validation and test
  // images are labelled in the grid, to measure on.
  const labels = labelsByTrust(project.db, datasetId, { trainSplitOnly: true });
  const heldOut = heldOutImages(project.db, datasetId);
  const classes = [...new Set(labels.map((l) => l.name))].sort();
  if (classes.length < 2) throw needsTwoClasses();
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const k = classes.length, n = emb.imageIds.length;
  const source = new Map<number, string>();
  const known = new Int32Array(n).fill(-1);
  const lm: LabelModel = { kind: 'generative', classes: k, probs: new Float32Array(n * k), covered: new Uint8Array(n), accuracy: new Float32Array(0), prior: new Float32Array(k), iterations: 0 };
  for (const l of labels) {
    const r = rowOf.get(l.id);
    if (r === undefined || source.has(r)) continue; // the first (most trusted) source wins
    source.set(r, l.source);
    const c = classIndex.get(l.name)!;
    if (l.source !== 'label-model') known[r] = c;
    else {
      // A label-model label of confidence p: p on its class, the rest spread over the others.
      const p = Math.min(1, Math.max(0, l.confidence));
      for (let d = 0; d < k; d++) lm.probs[r * k + d] = d === c ? p : (1 - p) / Math.max(1, k - 1);
      lm.covered[r] = 1;
    }
  }
  const all = emb.imageIds.map((_, r) => r);
  // Learnt from: the images models may learn from (not the held-out ones, not even unlabelled in
  // the neighbour graph); guessed for every image.
  const learnable = all.filter((r) => !heldOut.has(emb.imageIds[r]!));
  const model = await suggestionModel(features, row.dim, learnable, known, lm, { classes: k, whitened: unit, ...sizeAnswers(project, datasetId, classes) });
  if (!model) throw needsTwoClasses();
  const skip = new Set(exclude);
  // The person's own labels are never suggested again; imported ones may be (to be checked). Both
  // count as labels: the regions they lie in need no typical pick, nor do those of the images
  // already queued or skipped (`exclude`).
  const settled = all.filter((r) => source.get(r) === 'human' || source.get(r) === 'import');
  const pool = all.filter((r) => !skip.has(emb.imageIds[r]!) && source.get(r) !== 'human' && !heldOut.has(emb.imageIds[r]!));
  const covered = [...new Set([...settled, ...exclude.map((id) => rowOf.get(id)).filter((r): r is number => r !== undefined)])];
  // Every image's class probabilities, once: the least-certain picks read the model before its
  // prior match (beforePriorMatch); the picks' guesses and the progress figures, the matched one.
  const unmatched = predictProbabilities(beforePriorMatch(model), features, all);
  const probs = withPriorShift(unmatched, k, model.priorShift), everyGuess = argmaxRows(probs, k);
  const { rows: picked, reasons } = await pickImagesToLabel({
    features: unit, dim: row.dim, pool, covered, classes: k, count, probabilities: (r) => rowsOf(unmatched, k, r),
  }, { labelled: settled.length });
  const items = picked.map((r, i): Suggestion => ({ imageId: emb.imageIds[r]!, reason: reasons[i]!, guess: classes[everyGuess[r]!]!, confidence: probs[r * k + everyGuess[r]!]! }));
  const humanCount = [...source.values()].filter((t) => t === 'human').length;
  const progress: LabellingProgress = {
    heldOut: heldOutAccuracy(project, datasetId, rowOf, classes, everyGuess),
    changed: guessesChanged(project, `${datasetId}|${view}`, `${row.id}|${classes.join('\u0000')}`, labelsFingerprint(known, lm, k), everyGuess),
  };
  return { items, classes, labelled: humanCount, progress };
}
