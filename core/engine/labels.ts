// Labels as the engine sees them: one class index per image with exactly one human or imported
// label (multi-labelled images are left out of single-label evaluation), plus the image's split.
import type { Db } from '../store/database.ts';
import { LEARNABLE_SQL } from '../store/splits.ts';

export interface LabelSet {
  classNames: string[];
  /** image id → class index */
  byImage: Map<number, number>;
  split: Map<number, 'train' | 'val' | 'test'>;
}

export function loadLabels(db: Db, datasetId: number): LabelSet {
  const rows = db.prepare(`
    SELECT l.image_id AS imageId, MIN(c.name) AS className, i.split AS split
    FROM labels l JOIN classes c ON c.id = l.class_id JOIN images i ON i.id = l.image_id
    WHERE i.dataset_id = ? AND i.status = 'ok' AND l.source IN ('human', 'import')
    GROUP BY l.image_id HAVING COUNT(DISTINCT l.class_id) = 1`).all(datasetId) as { imageId: number; className: string; split: 'train' | 'val' | 'test' | null }[];
  const classNames = [...new Set(rows.map((r) => r.className))].sort();
  const index = new Map(classNames.map((n, i) => [n, i]));
  const byImage = new Map<number, number>(), split = new Map<number, 'train' | 'val' | 'test'>();
  for (const r of rows) {
    byImage.set(r.imageId, index.get(r.className)!);
    if (r.split) split.set(r.imageId, r.split);
  }
  return { classNames, byImage, split };
}

/**
 * What a person or the label model says each training image is, for methods that learn from
 * labels (fine-tuning): one class per image with a confidence — 1 for a person's labels (human,
 * imported, a named cluster), the label model's own for its labels. Rows follow the training
 * cache (`imageIds`); images without a label have confidence 0. Images of the validation and
 * test splits are left out: they stay unseen, to measure the result on.
 */
export interface TrainingLabels {
  classNames: string[];
  /** Class index per training row (−1: no label). */
  classOf: Int32Array;
  confidence: Float32Array;
}

/** The label sources a model learns from, most trusted first: where an image has several labels, the first listed wins. */
export const LEARNED_SOURCES = ['human', 'import', 'cluster', 'label-model'] as const;

export interface TrustedLabel {
  /** Image id. */
  id: number;
  name: string;
  source: (typeof LEARNED_SOURCES)[number];
  confidence: number;
}

/**
 * Every label of the dataset's images from LEARNED_SOURCES, the most trusted source first (the
 * reader takes an image's first); `trainSplitOnly` leaves out the validation and test splits.
 * Shared by fine-tuning (loadTrainingLabels) and active labelling's suggestions (weak/active.ts).
 */
export function labelsByTrust(db: Db, datasetId: number, { trainSplitOnly = false } = {}): TrustedLabel[] {
  return db.prepare(`
    SELECT l.image_id AS id, c.name, l.source, l.confidence FROM labels l JOIN classes c ON c.id = l.class_id JOIN images i ON i.id = l.image_id
    WHERE i.dataset_id = ?${trainSplitOnly ? ` AND ${LEARNABLE_SQL}` : ''} AND l.source IN (${LEARNED_SOURCES.map(() => '?').join(', ')})
    ORDER BY CASE l.source ${LEARNED_SOURCES.map((s, i) => `WHEN '${s}' THEN ${i}`).join(' ')} END`).all(datasetId, ...LEARNED_SOURCES) as TrustedLabel[];
}

/** The training labels (TrainingLabels) of the cache rows `imageIds`: each image's most trusted label. */
export function loadTrainingLabels(db: Db, datasetId: number, imageIds: readonly number[]): TrainingLabels {
  const first = new Map<number, { name: string; confidence: number }>();
  for (const r of labelsByTrust(db, datasetId, { trainSplitOnly: true })) {
    if (first.has(r.id)) continue;
    first.set(r.id, { name: r.name, confidence: r.source === 'label-model' ? Math.min(1, Math.max(0, r.confidence)) : 1 });
  }
  const rowOf = new Set(imageIds);
  const classNames = [...new Set([...first].filter(([id]) => rowOf.has(id)).map(([, l]) => l.name))].sort();
  const index = new Map(classNames.map((n, i) => [n, i]));
  const classOf = new Int32Array(imageIds.length).fill(-1), confidence = new Float32Array(imageIds.length);
  imageIds.forEach((id, row) => {
    const l = first.get(id);
    if (!l || l.confidence <= 0) return;
    classOf[row] = index.get(l.name)!;
    confidence[row] = l.confidence;
  });
  return { classNames, classOf, confidence };
}

/**
 * What a person says the held-out (validation and test) images are, to score models on: image id
 * → class name. A person's own label wins over an imported one (the person corrected it); an
 * image its winning source gives several classes is left out, as in single-label evaluation
 * (loadLabels). Shared by the active-labelling progress and the IWS results, so both score on the
 * same truth.
 */
export function heldOutLabels(db: Db, datasetId: number): Map<number, string> {
  const rows = db.prepare(`
    SELECT l.image_id AS id, c.name, l.source FROM labels l JOIN classes c ON c.id = l.class_id JOIN images i ON i.id = l.image_id
    WHERE i.dataset_id = ? AND i.status = 'ok' AND i.split IN ('val', 'test') AND l.source IN ('human', 'import')
    ORDER BY CASE l.source WHEN 'human' THEN 0 ELSE 1 END`).all(datasetId) as { id: number; name: string; source: string }[];
  const first = new Map<number, { name: string; source: string } | null>();
  for (const r of rows) {
    const seen = first.get(r.id);
    if (seen === undefined) first.set(r.id, { name: r.name, source: r.source });
    else if (seen && seen.source === r.source && seen.name !== r.name) first.set(r.id, null);
  }
  const out = new Map<number, string>();
  for (const [id, l] of first) if (l) out.set(id, l.name);
  return out;
}
