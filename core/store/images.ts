import { LoupeError } from '../errors.ts';
import type { Db } from './database.ts';

export type ImageStatus = 'ok' | 'duplicate' | 'failed';
export type LabelSource = 'human' | 'import' | 'cluster' | 'label-model' | 'model';
export const labelSources: readonly LabelSource[] = ['human', 'import', 'cluster', 'label-model', 'model'];

export interface ImageSummary {
  id: number;
  relPath: string;
  status: ImageStatus;
  hash: string | null;
  width: number | null;
  height: number | null;
  label: string | null;
  labelSource: LabelSource | null;
}

export interface ImageDetail extends ImageSummary {
  datasetId: number;
  path: string;
  format: string | null;
  channels: number | null;
  bitDepth: number | null;
  bytes: number;
  error: string | null;
  duplicateOf: number | null;
  split: string | null;
  importedAt: string;
  labels: { className: string; source: LabelSource; confidence: number }[];
  tags: string[];
}

export type ImageSort = 'name' | 'imported' | 'size' | 'width' | 'height';

export interface ImageQuery {
  datasetId: number;
  offset: number;
  limit: number;
  status?: ImageStatus | 'all';
  /** A class id, or 'unlabeled' for images without any label. */
  classId?: number | 'unlabeled';
  tag?: string;
  /** Training, validation or test split, or 'none' for images in no split. */
  split?: 'train' | 'val' | 'test' | 'none';
  search?: string;
  sort?: ImageSort;
  desc?: boolean;
}

const sortColumn: Record<ImageSort, string> = {
  name: 'i.rel_path',
  imported: 'i.id',
  size: 'i.bytes',
  width: 'i.width',
  height: 'i.height',
};

/** Human labels win over imported ones, which win over machine-made ones. */
export const BEST_LABEL = `
  FROM labels l JOIN classes c ON c.id = l.class_id WHERE l.image_id = i.id
  ORDER BY CASE l.source WHEN 'human' THEN 0 WHEN 'import' THEN 1 WHEN 'cluster' THEN 2 WHEN 'label-model' THEN 3 ELSE 4 END, l.confidence DESC
  LIMIT 1`;

const sourceRank: Record<LabelSource, number> = { human: 0, import: 1, cluster: 2, 'label-model': 3, model: 4 };

/**
 * One page of images for the grid: filtered, sorted, with the total for the scrollbar. Two steps
 * on purpose: the page's ids come from an index walk alone (OFFSET skips index entries, not
 * computed rows), then only those rows are read with their labels.
 */
export function queryImages(db: Db, q: ImageQuery & { count?: boolean }): { total: number; items: ImageSummary[] } {
  const where = ['i.dataset_id = @datasetId'];
  const params: Record<string, unknown> = { datasetId: q.datasetId, limit: q.limit, offset: q.offset };
  if (q.status && q.status !== 'all') {
    where.push('i.status = @status');
    params.status = q.status;
  }
  if (q.classId === 'unlabeled') where.push('i.label_count = 0');
  else if (q.classId !== undefined) {
    where.push('i.id IN (SELECT l.image_id FROM labels l WHERE l.class_id = @classId)');
    params.classId = q.classId;
  }
  if (q.tag) {
    where.push('i.id IN (SELECT it.image_id FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE t.name = @tag)');
    params.tag = q.tag;
  }
  if (q.split === 'none') where.push('i.split IS NULL');
  else if (q.split) {
    where.push('i.split = @split');
    params.split = q.split;
  }
  if (q.search) {
    where.push("i.rel_path LIKE @search ESCAPE '\\'");
    params.search = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  const filter = where.join(' AND ');
  const dir = q.desc ? 'DESC' : 'ASC';
  const order = `${sortColumn[q.sort ?? 'name']} ${dir}, i.id ${dir}`;
  const total = q.count === false ? -1 : (db.prepare(`SELECT COUNT(*) AS n FROM images i WHERE ${filter}`).get(params) as { n: number }).n;
  const ids = (db.prepare(`SELECT i.id FROM images i WHERE ${filter} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params) as { id: number }[]).map((r) => r.id);
  if (!ids.length) return { total, items: [] };
  const list = JSON.stringify(ids);
  const rows = db
    .prepare('SELECT i.id, i.rel_path AS relPath, i.status, i.hash, i.width, i.height FROM images i WHERE i.id IN (SELECT value FROM json_each(?))')
    .all(list) as Omit<ImageSummary, 'label' | 'labelSource'>[];
  const labels = db
    .prepare('SELECT l.image_id AS id, c.name, l.source, l.confidence FROM labels l JOIN classes c ON c.id = l.class_id WHERE l.image_id IN (SELECT value FROM json_each(?))')
    .all(list) as { id: number; name: string; source: LabelSource; confidence: number }[];
  const best = new Map<number, { name: string; source: LabelSource; confidence: number }>();
  for (const l of labels) {
    const cur = best.get(l.id);
    if (!cur || sourceRank[l.source] < sourceRank[cur.source] || (l.source === cur.source && l.confidence > cur.confidence)) best.set(l.id, l);
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const items = ids.map((id) => {
    const r = byId.get(id)!;
    const b = best.get(id);
    return { ...r, label: b?.name ?? null, labelSource: b?.source ?? null };
  });
  return { total, items };
}

export function getImage(db: Db, id: number): ImageDetail {
  const row = db
    .prepare(
      `SELECT i.id, i.dataset_id AS datasetId, i.path, i.rel_path AS relPath, i.status, i.hash, i.width, i.height,
              i.format, i.channels, i.bit_depth AS bitDepth, i.bytes, i.error, i.duplicate_of AS duplicateOf,
              i.split, i.imported_at AS importedAt,
              (SELECT c.name ${BEST_LABEL}) AS label, (SELECT l.source ${BEST_LABEL}) AS labelSource
       FROM images i WHERE i.id = ?`,
    )
    .get(id) as Omit<ImageDetail, 'labels' | 'tags'> | undefined;
  if (!row) throw new LoupeError('not-found', `Image ${id} does not exist.`);
  const labels = db
    .prepare('SELECT c.name AS className, l.source, l.confidence FROM labels l JOIN classes c ON c.id = l.class_id WHERE l.image_id = ? ORDER BY l.source')
    .all(id) as ImageDetail['labels'];
  const tags = (db.prepare('SELECT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ? ORDER BY t.name').all(id) as { name: string }[]).map((t) => t.name);
  return { ...row, labels, tags };
}

export function listClasses(db: Db, datasetId: number): { id: number; name: string; color: string | null; count: number }[] {
  return db
    .prepare(
      `SELECT c.id, c.name, c.color, (SELECT COUNT(DISTINCT image_id) FROM labels l WHERE l.class_id = c.id) AS count
       FROM classes c WHERE c.dataset_id = ? ORDER BY c.name`,
    )
    .all(datasetId) as { id: number; name: string; color: string | null; count: number }[];
}

export function ensureClass(db: Db, datasetId: number, name: string): number {
  const clean = name.trim();
  if (!clean) throw new LoupeError('invalid-input', 'A class needs a name.');
  db.prepare('INSERT OR IGNORE INTO classes (dataset_id, name) VALUES (?, ?)').run(datasetId, clean);
  return (db.prepare('SELECT id FROM classes WHERE dataset_id = ? AND name = ?').get(datasetId, clean) as { id: number }).id;
}

/**
 * Sets the label of images for one source: single-label per source, so an image's previous
 * label from that source is replaced. `className: null` removes it.
 */
export function setLabels(db: Db, imageIds: number[], className: string | null, source: LabelSource = 'human', confidence = 1): number {
  if (!imageIds.length) return 0;
  const datasetOf = db.prepare('SELECT dataset_id AS d FROM images WHERE id = ?');
  const clear = db.prepare('DELETE FROM labels WHERE image_id = ? AND source = ?');
  const insert = db.prepare('INSERT INTO labels (image_id, class_id, source, confidence) VALUES (?, ?, ?, ?)');
  let changed = 0;
  db.transaction(() => {
    for (const id of imageIds) {
      const row = datasetOf.get(id) as { d: number } | undefined;
      if (!row) throw new LoupeError('not-found', `Image ${id} does not exist.`);
      clear.run(id, source);
      if (className !== null) insert.run(id, ensureClass(db, row.d, className), source, confidence);
      changed++;
    }
  })();
  return changed;
}

export function setTag(db: Db, imageIds: number[], tag: string, on: boolean): void {
  const name = tag.trim();
  if (!name) throw new LoupeError('invalid-input', 'A tag needs a name.');
  db.transaction(() => {
    db.prepare('INSERT OR IGNORE INTO tags (name) VALUES (?)').run(name);
    const tagId = (db.prepare('SELECT id FROM tags WHERE name = ?').get(name) as { id: number }).id;
    const stmt = on
      ? db.prepare('INSERT OR IGNORE INTO image_tags (image_id, tag_id) VALUES (?, ?)')
      : db.prepare('DELETE FROM image_tags WHERE image_id = ? AND tag_id = ?');
    for (const id of imageIds) stmt.run(id, tagId);
  })();
}

export function listTags(db: Db): string[] {
  return (db.prepare('SELECT name FROM tags ORDER BY name').all() as { name: string }[]).map((t) => t.name);
}
