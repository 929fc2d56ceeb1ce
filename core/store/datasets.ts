import { LoupeError } from '../errors.ts';
import type { Db } from './database.ts';
import { LEARNABLE_SQL, splitCounts, type SplitCounts } from './splits.ts';

/** Images that need a display mapping, as openImage decides (formats as stored: heif is heic or avif). */
export const SCIENTIFIC_SQL = "(bit_depth > 8 OR (channels NOT IN (1, 3, 4) AND NOT (channels = 2 AND format IN ('png', 'webp', 'gif', 'heic', 'avif'))))";

export interface DisplaySettings {
  /** Which source channels map to red, green and blue (null: black) for multi-channel images. */
  channelMap: [number | null, number | null, number | null];
  /** Lower and upper percentiles used to stretch high-bit-depth channels for display. */
  percentiles: [number, number];
}

export interface DatasetSettings {
  display: DisplaySettings;
  /** The shares and seed of the last split made (core/store/splits.ts): new images are dealt by them. */
  split: { val: number; test: number; seed: number; groupBy?: 'none' | 'folder' } | null;
}

export const defaultDatasetSettings: DatasetSettings = {
  display: { channelMap: [0, 1, 2], percentiles: [1, 99.5] },
  split: null,
};

export interface DatasetRow {
  id: number;
  name: string;
  root: string | null;
  settings: DatasetSettings;
  createdAt: string;
  counts: { ok: number; duplicate: number; failed: number };
  classes: number;
  /** Imported images (status ok) with a label: a duplicate's copy of its original's label is not counted twice. */
  labeled: number;
  /** Of those, the ones a method that learns from labels trains on: outside the validation and test splits. */
  labeledForTraining: number;
  /** Images that need a display mapping (16-bit, float, or not 1/3/4 channels), and their most channels. */
  scientific: { images: number; maxChannels: number };
  /** Imported images per split (core/store/splits.ts). */
  splits: SplitCounts;
}

interface RawDataset {
  id: number;
  name: string;
  root: string | null;
  settings: string;
  created_at: string;
}

function parseSettings(json: string): DatasetSettings {
  const parsed = JSON.parse(json) as Partial<DatasetSettings>;
  return { ...defaultDatasetSettings, ...parsed, display: { ...defaultDatasetSettings.display, ...parsed.display } };
}

export function listDatasets(db: Db): DatasetRow[] {
  const rows = db.prepare('SELECT * FROM datasets ORDER BY id').all() as RawDataset[];
  const countStmt = db.prepare('SELECT status, COUNT(*) AS n FROM images WHERE dataset_id = ? GROUP BY status');
  const classStmt = db.prepare('SELECT COUNT(*) AS n FROM classes WHERE dataset_id = ?');
  const labeledStmt = db.prepare(
    "SELECT COUNT(DISTINCT l.image_id) AS n FROM labels l JOIN images i ON i.id = l.image_id WHERE i.dataset_id = ? AND i.status = 'ok'",
  );
  const learnableStmt = db.prepare(
    `SELECT COUNT(DISTINCT l.image_id) AS n FROM labels l JOIN images i ON i.id = l.image_id WHERE i.dataset_id = ? AND i.status = 'ok' AND l.source <> 'model' AND ${LEARNABLE_SQL}`,
  );
  const sciStmt = db.prepare(
    `SELECT COUNT(*) AS n, COALESCE(MAX(channels), 0) AS c FROM images WHERE dataset_id = ? AND status = 'ok' AND ${SCIENTIFIC_SQL}`,
  );
  return rows.map((r) => {
    const sci = sciStmt.get(r.id) as { n: number; c: number };
    const counts = { ok: 0, duplicate: 0, failed: 0 };
    for (const c of countStmt.all(r.id) as { status: keyof typeof counts; n: number }[]) counts[c.status] = c.n;
    return {
      id: r.id,
      name: r.name,
      root: r.root,
      settings: parseSettings(r.settings),
      createdAt: r.created_at,
      counts,
      classes: (classStmt.get(r.id) as { n: number }).n,
      labeled: (labeledStmt.get(r.id) as { n: number }).n,
      labeledForTraining: (learnableStmt.get(r.id) as { n: number }).n,
      scientific: { images: sci.n, maxChannels: sci.c },
      splits: splitCounts(db, r.id),
    };
  });
}

export function getDataset(db: Db, id: number): DatasetRow {
  const row = listDatasets(db).find((d) => d.id === id);
  if (!row) throw new LoupeError('not-found', `Dataset ${id} does not exist.`);
  return row;
}

export function findDatasetByName(db: Db, name: string): DatasetRow | undefined {
  return listDatasets(db).find((d) => d.name === name);
}

export function createDataset(db: Db, name: string, root: string | null): number {
  const trimmed = name.trim();
  if (!trimmed) throw new LoupeError('invalid-input', 'A dataset needs a name.');
  try {
    return Number(db.prepare('INSERT INTO datasets (name, root) VALUES (?, ?)').run(trimmed, root).lastInsertRowid);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new LoupeError('conflict', `A dataset named "${trimmed}" already exists.`, { hint: 'Pick another name, or import into the existing dataset.', cause: err });
    }
    throw err;
  }
}

export function updateDatasetSettings(db: Db, id: number, patch: Partial<DatasetSettings>): DatasetSettings {
  const current = getDataset(db, id).settings;
  const next: DatasetSettings = { ...current, ...patch, display: { ...current.display, ...patch.display } };
  db.prepare('UPDATE datasets SET settings = ? WHERE id = ?').run(JSON.stringify(next), id);
  return next;
}

export function renameDataset(db: Db, id: number, name: string): void {
  getDataset(db, id);
  db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(name.trim(), id);
}

export function deleteDataset(db: Db, id: number): void {
  db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
}
