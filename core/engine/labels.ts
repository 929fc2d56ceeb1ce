// Labels as the engine sees them: one class index per image with exactly one human or imported
// label (multi-labelled images are left out of single-label evaluation), plus the image's split.
import type { Db } from '../store/database.ts';

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
