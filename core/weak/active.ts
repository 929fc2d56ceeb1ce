// Active labelling: the images most worth a person's label next. A linear model on the embedding
// learns from the labels so far (human, imported and named-cluster labels as they are; label-model
// labels weighted by their confidence) and guesses each suggestion's class. Which images to
// suggest is pick-images.ts's: while labels are few, half typical images of regions no label
// covers and half the least certain; once there are many, the least certain. Suggestions come in
// batches so the labelling UI always has the next image ready.
import { activateBackend } from '../engine/backends/select.ts';
import { readEmbeddings } from '../engine/embed.ts';
import { LoupeError } from '../errors.ts';
import { argmaxRows, predictProbabilities, trainClassifier } from '../learn/classifier.ts';
import { l2normalizeRows } from '../learn/vectors.ts';
import type { Project } from '../store/project.ts';
import { latestEmbedding, listRuns } from '../store/runs.ts';
import { pickImagesToLabel, type PickReason } from './pick-images.ts';

export interface Suggestion {
  imageId: number;
  /** Why it was picked: typical of a region with no label yet, or one the model is unsure of. */
  reason: PickReason;
  /** The model's current guess and its probability, shown beside the image. */
  guess: string;
  confidence: number;
}

export async function suggestImages(project: Project, datasetId: number, count: number, exclude: number[] = []): Promise<{ items: Suggestion[]; classes: string[]; labelled: number }> {
  await activateBackend();
  const run = listRuns(project.db, datasetId).filter((r) => r.encoder && latestEmbedding(project.db, r.id)).sort((a, b) => b.id - a.id)[0];
  if (!run) throw new LoupeError('conflict', 'Active labelling needs an embedded dataset.', { hint: 'Train an encoder and embed the images (Train view) first.' });
  const row = latestEmbedding(project.db, run.id)!;
  const emb = readEmbeddings(project, row);
  const features = l2normalizeRows(emb.features, row.dim);
  const rowOf = new Map(emb.imageIds.map((id, i) => [id, i]));
  const labels = project.db.prepare(`
    SELECT l.image_id AS id, c.name, l.source, l.confidence FROM labels l JOIN classes c ON c.id = l.class_id JOIN images i ON i.id = l.image_id
    WHERE i.dataset_id = ? AND l.source IN ('human', 'import', 'cluster', 'label-model')
    ORDER BY CASE l.source WHEN 'human' THEN 0 WHEN 'import' THEN 1 WHEN 'cluster' THEN 2 ELSE 3 END`).all(datasetId) as { id: number; name: string; source: string; confidence: number }[];
  const classes = [...new Set(labels.map((l) => l.name))].sort();
  if (classes.length < 2) throw new LoupeError('invalid-input', 'Active labelling needs labels of at least two classes to start from.', { hint: 'Name two concepts in Explore, or label a few images of each class by hand.' });
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const target = new Map<number, { c: number; w: number; source: string }>();
  for (const l of labels) {
    const r = rowOf.get(l.id);
    if (r === undefined || target.has(r)) continue; // the first (most trusted) source wins
    target.set(r, { c: classIndex.get(l.name)!, w: l.source === 'label-model' ? l.confidence : 1, source: l.source });
  }
  const rows = [...target.keys()];
  const model = await trainClassifier(features, row.dim, rows, Int32Array.from(rows, (r) => target.get(r)!.c),
    { classes: classes.length, epochs: 120, learningRate: 0.02, l2: 1e-3, weights: Float32Array.from(rows, (r) => target.get(r)!.w) });
  const skip = new Set(exclude);
  // The person's own labels are never suggested again; imported ones may be (to be checked). Both
  // count as labels: the regions they lie in need no typical pick, nor do those of the images
  // already queued or skipped (`exclude`).
  const settled = rows.filter((r) => target.get(r)!.source === 'human' || target.get(r)!.source === 'import');
  const pool = emb.imageIds.map((_, r) => r).filter((r) => !skip.has(emb.imageIds[r]!) && target.get(r)?.source !== 'human');
  const k = classes.length;
  const covered = [...new Set([...settled, ...exclude.map((id) => rowOf.get(id)).filter((r): r is number => r !== undefined)])];
  const { rows: picked, reasons } = await pickImagesToLabel({
    features, dim: row.dim, pool, covered, classes: k, count,
    probabilities: (r) => predictProbabilities(model, features, r),
  }, { labelled: settled.length });
  const guesses = predictProbabilities(model, features, picked), best = argmaxRows(guesses, k);
  const items = picked.map((r, i): Suggestion => ({ imageId: emb.imageIds[r]!, reason: reasons[i]!, guess: classes[best[i]!]!, confidence: guesses[i * k + best[i]!]! }));
  const humanCount = [...target.values()].filter((t) => t.source === 'human').length;
  return { items, classes, labelled: humanCount };
}
