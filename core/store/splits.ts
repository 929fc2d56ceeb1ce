// Training / validation / test splits of a dataset's images. The engine already honours them:
// fine-tuning and IWS learn from the training split only, `loupe eval knn` and the fine-tuning
// kNN curve measure on the others, label exports carry the column. This module sets them.
//
// Stratified by each image's best label (images without one form a stratum of their own), so
// every class keeps its share in each split. Seeded, so the same request gives the same split.
// Images that already have a split keep it unless the person asks to reshuffle: a test split
// that moved each time images were added would make every earlier measurement incomparable.
import { Rng } from '../engine/rng.ts';
import { LoupeError } from '../errors.ts';
import type { Db } from './database.ts';
import { BEST_LABEL } from './images.ts';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface SplitCounts {
  train: number;
  val: number;
  test: number;
  /** Imported images in no split (until a split is made, all of them). */
  none: number;
}

export interface SplitSummary extends SplitCounts {
  /** Per class of the images' best label (null: unlabelled), largest first. */
  classes: ({ className: string | null } & SplitCounts)[];
}

export interface SplitRequest {
  /** Shares of the imported images, 0–0.5 each, together at most 0.8; the rest is training. */
  val: number;
  test: number;
  seed?: number;
  /** Reassign every image, also those that have a split already. */
  reshuffle?: boolean;
  /** 'folder': keep each folder's images in one split (dealByFolder); by default, stratify by label. */
  groupBy?: 'none' | 'folder';
}

/** Images models may learn from: the training split, and images in no split (over `images i`). */
export const LEARNABLE_SQL = "(i.split IS NULL OR i.split = 'train')";

/** The dataset's validation and test images: never learnt from, never suggested for labelling to learn from. */
export function heldOutImages(db: Db, datasetId: number): Set<number> {
  return new Set((db.prepare("SELECT id FROM images WHERE dataset_id = ? AND split IN ('val', 'test')").all(datasetId) as { id: number }[]).map((r) => r.id));
}

const emptyCounts = (): SplitCounts => ({ train: 0, val: 0, test: 0, none: 0 });

/** Imported images per split (duplicates and failed files are in none and not counted). */
export function splitCounts(db: Db, datasetId: number): SplitCounts {
  const counts = emptyCounts();
  const rows = db.prepare("SELECT split, COUNT(*) AS n FROM images WHERE dataset_id = ? AND status = 'ok' GROUP BY split").all(datasetId) as { split: Split | null; n: number }[];
  for (const r of rows) counts[r.split ?? 'none'] = r.n;
  return counts;
}

interface Row { id: number; relPath: string; cls: number | null; className: string | null; split: Split | null }

function imagesWithBestLabel(db: Db, datasetId: number): Row[] {
  // The best label's class id per image, its name from the classes table (one lookup per image, not two).
  const names = new Map((db.prepare('SELECT id, name FROM classes WHERE dataset_id = ?').all(datasetId) as { id: number; name: string }[]).map((c) => [c.id, c.name]));
  const rows = db.prepare(`SELECT i.id, i.rel_path AS relPath, i.split, (SELECT l.class_id ${BEST_LABEL}) AS cls
    FROM images i WHERE i.dataset_id = ? AND i.status = 'ok' ORDER BY i.id`).all(datasetId) as Omit<Row, 'className'>[];
  return rows.map((r) => ({ ...r, className: r.cls === null ? null : names.get(r.cls) ?? null }));
}

/** Totals and the per-class table (by best label) of a dataset's splits. */
export function splitSummary(db: Db, datasetId: number): SplitSummary {
  const byClass = new Map<string | null, SplitCounts>();
  const totals = emptyCounts();
  for (const r of imagesWithBestLabel(db, datasetId)) {
    let c = byClass.get(r.className);
    if (!c) byClass.set(r.className, (c = emptyCounts()));
    c[r.split ?? 'none']++;
    totals[r.split ?? 'none']++;
  }
  const size = (c: SplitCounts) => c.train + c.val + c.test + c.none;
  const classes = [...byClass].map(([className, c]) => ({ className, ...c }))
    .sort((a, b) => (a.className === null ? 1 : b.className === null ? -1 : size(b) - size(a) || a.className.localeCompare(b.className)));
  return { ...totals, classes };
}

/**
 * How many of each stratum go to one split: its share of the stratum's size, rounded so the
 * dataset's total is exact (largest remainders) and each stratum is within one image of its share.
 * Rounding each stratum alone, a thousand classes of three images would give no test image at all.
 */
function apportion(sizes: number[], share: number): number[] {
  const exact = sizes.map((n) => n * share);
  const out = exact.map(Math.floor);
  let left = Math.round(sizes.reduce((a, b) => a + b, 0) * share) - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, rest: x - Math.floor(x) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i]!++;
    left--;
  }
  return out;
}

export function checkSplitRequest(req: SplitRequest): void {
  const ok = (x: number) => Number.isFinite(x) && x >= 0 && x <= 0.5;
  if (!ok(req.val) || !ok(req.test)) throw new LoupeError('invalid-input', 'Validation and test shares must each be between 0% and 50%.');
  if (req.val + req.test > 0.8) throw new LoupeError('invalid-input', 'Validation and test together may take at most 80% of the images.', { hint: 'Leave at least 20% for training.' });
}

/** Stratified by best label: each stratum is dealt towards its share, the kept splits counted. */
function dealByLabel(rows: Row[], req: SplitRequest, seed: number): Map<number, Split> {
  const strata = new Map<number | null, Row[]>();
  for (const r of rows) {
    let s = strata.get(r.cls);
    if (!s) strata.set(r.cls, (s = []));
    s.push(r);
  }
  const list = [...strata].sort((a, b) => (a[0] ?? -1) - (b[0] ?? -1));
  const sizes = list.map(([, s]) => s.length);
  const wantTest = apportion(sizes, req.test), wantVal = apportion(sizes, req.val);
  const out = new Map<number, Split>();
  list.forEach(([cls, members], i) => {
    const have = { train: 0, val: 0, test: 0 };
    for (const r of members) if (r.split) have[r.split]++;
    const pool = Rng.derive(seed, 'split', cls ?? 0).shuffle(members.filter((r) => !r.split));
    const test = Math.min(pool.length, Math.max(0, wantTest[i]! - have.test));
    const val = Math.min(pool.length - test, Math.max(0, wantVal[i]! - have.val));
    pool.forEach((r, t) => out.set(r.id, t < test ? 'test' : t < test + val ? 'val' : 'train'));
  });
  return out;
}

/** An image's folder within the dataset ('' at the top): the group `groupBy: 'folder'` keeps together. */
const folderOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

/**
 * Whole folders to one split each, for data where images of one folder are not independent (one
 * slide, patient, field or session per folder): split by image, near-copies of a training image
 * would sit in the test split and flatter every measurement. New images of a folder that has a
 * split join it; the other folders go, in a seeded random order, each to the split furthest below
 * its share. Shares are then as close as the folder sizes allow, and classes are not stratified.
 */
function dealByFolder(rows: Row[], req: SplitRequest, seed: number): Map<number, Split> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = folderOf(r.relPath);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const want: Record<Split, number> = { train: rows.length * (1 - req.val - req.test), val: rows.length * req.val, test: rows.length * req.test };
  const have: Record<Split, number> = { train: 0, val: 0, test: 0 };
  for (const r of rows) if (r.split) have[r.split]++;
  const out = new Map<number, Split>();
  const fresh: Row[][] = [];
  for (const members of [...groups.keys()].sort().map((k) => groups.get(k)!)) {
    const kept = members.filter((r) => r.split);
    if (!kept.length) {
      fresh.push(members);
      continue;
    }
    // The folder's split: the one most of its images have.
    const votes: Record<Split, number> = { train: 0, val: 0, test: 0 };
    for (const r of kept) votes[r.split!]++;
    const split = SPLITS.reduce((a, b) => (votes[b] > votes[a] ? b : a));
    for (const r of members) if (!r.split) (out.set(r.id, split), have[split]++);
  }
  for (const members of Rng.derive(seed, 'split-folders').shuffle(fresh)) {
    const split = SPLITS.filter((s) => want[s] > 0).reduce((a, b) => ((want[b] - have[b]) / want[b] > (want[a] - have[a]) / want[a] ? b : a));
    for (const r of members) out.set(r.id, split);
    have[split] += members.length;
  }
  return out;
}

/**
 * Gives the imported images of a dataset a split, in one transaction. Without `reshuffle`, images
 * with a split keep it, and the others (e.g. newly imported) are dealt so that each stratum (or,
 * with `groupBy: 'folder'`, the dataset) comes as close to the requested shares as the kept ones
 * allow. Returns how many images were dealt.
 */
export function assignSplits(db: Db, datasetId: number, req: SplitRequest): { assigned: number; summary: SplitSummary } {
  checkSplitRequest(req);
  const set = db.prepare('UPDATE images SET split = ? WHERE id = ?');
  const assigned = db.transaction(() => {
    const rows = imagesWithBestLabel(db, datasetId);
    if (req.reshuffle) for (const r of rows) r.split = null;
    const dealt = (req.groupBy === 'folder' ? dealByFolder : dealByLabel)(rows, req, req.seed ?? 0);
    for (const [id, split] of dealt) set.run(split, id);
    return dealt.size;
  })();
  return { assigned, summary: splitSummary(db, datasetId) };
}

/** Removes every split of a dataset (all images back to none). */
export function clearSplits(db: Db, datasetId: number): number {
  return db.prepare('UPDATE images SET split = NULL WHERE dataset_id = ? AND split IS NOT NULL').run(datasetId).changes;
}
