import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asLoupeError, LoupeError } from '../errors.ts';
import type { JobContext, JobKind } from '../jobs/runner.ts';
import type { ImportEntry, Importer, LabelSpec } from '../plugins/contract.ts';
import { createDataset, defaultDatasetSettings, getDataset, type DisplaySettings } from '../store/datasets.ts';
import { ensureClass } from '../store/images.ts';
import type { Project } from '../store/project.ts';
import { assignSplits } from '../store/splits.ts';
import { type ImageInfo, openImage, renderDisplay } from './decode.ts';
import { unsupportedReason } from './formats.ts';

export const THUMB_SIZE = 256;
/** Files above this are refused before reading: a decoded frame of that size would not fit anyway. */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

export interface ImportParams {
  folder: string;
  /** Import into this dataset; otherwise into the dataset named `datasetName` (created if needed). */
  datasetId?: number;
  datasetName?: string;
  labels: LabelSpec;
  importer?: string;
}

export interface ImportResult {
  datasetId: number;
  imported: number;
  duplicates: number;
  failed: number;
  unchanged: number;
  ignored: number;
  labeled: number;
  /** Images that took their split from the source (a train / val / test folder layout). */
  split: number;
  failures: { path: string; reason: string }[];
}

type Outcome =
  | { entry: ImportEntry; kind: 'ok'; hash: string; info: ImageInfo }
  | { entry: ImportEntry; kind: 'failed'; reason: string; hash: string | null };

/** Writes a file so that readers never see half of it: temp file, then rename. */
let tmpSerial = 0;

async function writeAtomic(file: string, data: Buffer): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  // A name of its own per write: two lanes (or a resumed job and one still winding down) may write
  // the same content-addressed thumbnail at once, and must not rename each other's file away.
  const tmp = `${file}.${process.pid}-${++tmpSerial}.tmp`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

export async function makeThumbnail(project: Project, hash: string, data: Buffer, display: DisplaySettings): Promise<void> {
  const image = await openImage(data);
  await writeAtomic(project.thumbPath(hash), await renderDisplay(image, THUMB_SIZE, display, 'webp'));
}

/**
 * Decodes one file: hash, header, and a thumbnail (skipped when the content is already known).
 * Any problem with the file becomes a 'failed' outcome with a reason; only problems with the
 * project itself (disk full) are thrown, since they stop the whole import.
 */
async function processEntry(project: Project, entry: ImportEntry, knownHashes: Set<string>, display: DisplaySettings): Promise<Outcome> {
  if (entry.size === 0) return { entry, kind: 'failed', reason: 'Empty file (0 bytes).', hash: null };
  if (entry.size > MAX_FILE_BYTES) return { entry, kind: 'failed', reason: `File too large to import (${(entry.size / 2 ** 30).toFixed(1)} GiB).`, hash: null };
  let data: Buffer;
  try {
    data = await fs.promises.readFile(entry.abs);
  } catch (err) {
    return { entry, kind: 'failed', reason: `Cannot read the file: ${asLoupeError(err).message}`, hash: null };
  }
  const hash = createHash('sha256').update(data).digest('hex');
  try {
    const image = await openImage(data);
    if (!knownHashes.has(hash) && !fs.existsSync(project.thumbPath(hash))) {
      knownHashes.add(hash);
      const thumb = await renderDisplay(image, THUMB_SIZE, display, 'webp');
      await writeAtomic(project.thumbPath(hash), thumb);
    }
    return { entry, kind: 'ok', hash, info: image.info };
  } catch (err) {
    const e = asLoupeError(err, project.dir);
    if (e.code === 'disk-full') throw e;
    return { entry, kind: 'failed', reason: e.message, hash };
  }
}

/** Runs `fn` over items, in order, with at most `limit` in flight, stopping early when the signal aborts. */
async function forEachLimited<T>(items: T[], limit: number, signal: AbortSignal, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  // On the first error no lane starts another item, and the error is rethrown only once every
  // lane has settled: nothing of this run is still writing when the job is reported failed (and
  // perhaps resumed at once).
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !signal.aborted && !failure) {
      try {
        const index = next++;
        await fn(items[index]!, index);
      } catch (err) {
        failure ??= { err };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw (failure as { err: unknown }).err;
}

export function importJobKind(project: Project, importers: Map<string, Importer>): JobKind<ImportParams, ImportResult> {
  return {
    kind: 'import',
    resumable: true,
    title: (p) => `Import ${p.datasetName ?? path.basename(path.resolve(p.folder))}`,
    run: (ctx) => runImport(project, importers, ctx),
  };
}

/** The dataset an import writes to: the given id, else the one named like the folder (created on first import). */
export function resolveDataset(project: Project, p: ImportParams): number {
  const { db } = project;
  if (p.datasetId !== undefined) return getDataset(db, p.datasetId).id;
  const root = path.resolve(p.folder);
  const name = (p.datasetName ?? path.basename(root)).trim() || 'images';
  const existing = db.prepare('SELECT id, root FROM datasets WHERE name = ?').get(name) as { id: number; root: string | null } | undefined;
  if (existing) return existing.id;
  return createDataset(db, name, root);
}

/**
 * The import job. Idempotent by construction: a file already stored with the same size and
 * mtime is skipped, rows are written in small transactions after their thumbnail exists, and
 * UNIQUE(dataset, rel_path) makes a re-run after kill -9 continue without duplicates. Files that
 * failed before are tried again: a failure can be transient (a disk that filled up while lanes
 * were still decoding), and a truly broken file fails again in milliseconds with the same reason.
 */
export async function runImport(project: Project, importers: Map<string, Importer>, ctx: JobContext<ImportParams>): Promise<ImportResult> {
  const { db } = project;
  const p = ctx.params;
  const importer = importers.get(p.importer ?? 'folder');
  if (!importer) throw new LoupeError('unsupported', `No importer named "${p.importer}".`);
  const datasetId = resolveDataset(project, p);
  const display = getDataset(db, datasetId).settings.display ?? defaultDatasetSettings.display;
  const listing = await importer.list(p.folder, p.labels, ctx.signal);

  const result: ImportResult = { datasetId, imported: 0, duplicates: 0, failed: 0, unchanged: 0, ignored: listing.ignored, labeled: 0, split: 0, failures: [] };
  const total = listing.images.length + listing.unsupported.length;
  let done = 0;
  const report = () =>
    ctx.progress(done, total, { imported: result.imported, duplicates: result.duplicates, failed: result.failed, unchanged: result.unchanged });

  const existing = new Map<string, { bytes: number; mtime: number }>();
  for (const r of db.prepare("SELECT rel_path, bytes, mtime_ms FROM images WHERE dataset_id = ? AND status != 'failed'").iterate(datasetId) as Iterable<{ rel_path: string; bytes: number; mtime_ms: number }>) {
    existing.set(r.rel_path, { bytes: r.bytes, mtime: r.mtime_ms });
  }
  const isUnchanged = (e: ImportEntry) => {
    const row = existing.get(e.rel);
    return row !== undefined && row.bytes === e.size && row.mtime === e.mtimeMs;
  };

  const upsert = db.prepare(`
    INSERT INTO images (dataset_id, path, rel_path, hash, format, width, height, channels, bit_depth, bytes, mtime_ms, status, error, duplicate_of)
    VALUES (@datasetId, @path, @rel, @hash, @format, @width, @height, @channels, @bitDepth, @bytes, @mtime, @status, @error, @duplicateOf)
    ON CONFLICT (dataset_id, rel_path) DO UPDATE SET
      path = excluded.path, hash = excluded.hash, format = excluded.format, width = excluded.width, height = excluded.height,
      channels = excluded.channels, bit_depth = excluded.bit_depth, bytes = excluded.bytes, mtime_ms = excluded.mtime_ms,
      status = excluded.status, error = excluded.error, duplicate_of = excluded.duplicate_of
    RETURNING id`);
  const findOriginal = db.prepare("SELECT id FROM images WHERE dataset_id = ? AND hash = ? AND status = 'ok' AND rel_path <> ? ORDER BY id LIMIT 1");
  const idOf = db.prepare('SELECT id FROM images WHERE dataset_id = ? AND rel_path = ?');
  // Plain INSERT after a delete (not INSERT OR REPLACE): REPLACE's implicit delete skips the
  // label-count triggers.
  const setImportLabel = db.prepare("INSERT INTO labels (image_id, class_id, source, confidence) VALUES (?, ?, 'import', 1)");
  const clearImportLabel = db.prepare("DELETE FROM labels WHERE image_id = ? AND source = 'import'");

  // The source's split wins over the one Loupe dealt (the layout is the person's); a plugin's
  // value other than the three is ignored rather than failing the batch on the column's check.
  const setSplit = db.prepare('UPDATE images SET split = ? WHERE id = ?');
  const applySplit = (imageId: number, split: string | undefined) => {
    if (split !== 'train' && split !== 'val' && split !== 'test') return;
    setSplit.run(split, imageId);
    result.split++;
  };
  const applyLabel = (imageId: number, label: string | undefined) => {
    if (!label) return;
    clearImportLabel.run(imageId);
    setImportLabel.run(imageId, ensureClass(db, datasetId, label));
    result.labeled++;
  };
  const failure = (rel: string, reason: string) => {
    result.failed++;
    if (result.failures.length < 200) result.failures.push({ path: rel, reason });
  };

  let pending: Outcome[] = [];
  const flush = db.transaction((batch: Outcome[]) => {
    for (const o of batch) {
      const base = { datasetId, path: o.entry.abs, rel: o.entry.rel, bytes: o.entry.size, mtime: o.entry.mtimeMs, hash: o.hash };
      let row: { id: number };
      if (o.kind === 'failed') {
        row = upsert.get({ ...base, format: null, width: null, height: null, channels: null, bitDepth: null, status: 'failed', error: o.reason, duplicateOf: null }) as { id: number };
        failure(o.entry.rel, o.reason);
      } else {
        const original = findOriginal.get(datasetId, o.hash, o.entry.rel) as { id: number } | undefined;
        const { format, width, height, channels, bitDepth } = o.info;
        row = upsert.get({ ...base, format, width, height, channels, bitDepth, status: original ? 'duplicate' : 'ok', error: null, duplicateOf: original?.id ?? null }) as { id: number };
        if (original) result.duplicates++;
        else result.imported++;
      }
      if (o.kind !== 'failed') (applyLabel(row.id, o.entry.label), applySplit(row.id, o.entry.split));
    }
  });
  const flushPending = () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    try {
      flush(batch);
    } catch (err) {
      throw asLoupeError(err, project.dir);
    }
  };

  // Unsupported formats and unchanged files need no decoding: record them first.
  db.transaction(() => {
    for (const e of listing.unsupported) {
      if (isUnchanged(e)) result.unchanged++;
      else {
        upsert.get({ datasetId, path: e.abs, rel: e.rel, hash: null, format: null, width: null, height: null, channels: null, bitDepth: null, bytes: e.size, mtime: e.mtimeMs, status: 'failed', error: unsupportedReason(e.rel), duplicateOf: null });
        failure(e.rel, unsupportedReason(e.rel));
      }
      done++;
    }
    for (const e of listing.images) {
      if (!isUnchanged(e)) continue;
      result.unchanged++;
      done++;
      const row = idOf.get(datasetId, e.rel) as { id: number };
      applyLabel(row.id, e.label);
      applySplit(row.id, e.split);
    }
  })();
  report();

  const todo = listing.images.filter((e) => !isUnchanged(e));
  const knownHashes = new Set<string>();
  let lastFlush = Date.now();
  // sharp decodes on libuv's pool; a few files per core in flight keeps every core busy while
  // others wait on disk.
  const concurrency = Math.max(2, os.availableParallelism() * 2);
  // Rows are written in the listing's order (by name), whatever order the decodes finish in. Else
  // image ids, which of two identical files is the original, the gallery's default order and all
  // that is drawn from the rows in id order (splits, examples, every benchmark figure) would hang
  // on the machine's core count and the disk's timing. A finished file waits in `finished` until
  // those before it are written; no lane starts a file more than `AHEAD` past the oldest one
  // unwritten, so one slow file (a huge TIFF, a network disk) holds back a bounded number of rows.
  const AHEAD = 4 * concurrency;
  const finished = new Map<number, Outcome>();
  let written = 0, stopped = false;
  let wake = () => {};
  let advanced = new Promise<void>((resolve) => (wake = resolve));
  const moveOn = () => {
    const resolve = wake;
    advanced = new Promise<void>((r) => (wake = r));
    resolve();
  };
  await forEachLimited(todo, concurrency, ctx.signal, async (entry, index) => {
    while (index >= written + AHEAD && !stopped && !ctx.signal.aborted) await advanced;
    if (stopped || ctx.signal.aborted) return;
    try {
      finished.set(index, await processEntry(project, entry, knownHashes, display));
      done++;
      const before = written;
      while (finished.has(written)) pending.push(finished.get(written)!), finished.delete(written++);
      if (written > before) moveOn();
      if (pending.length >= 64 || Date.now() - lastFlush > 250) {
        flushPending();
        lastFlush = Date.now();
        report();
      }
    } catch (err) {
      // A full disk: nothing from here on is written (a resumed import redoes it), and the lanes
      // waiting for this file's row give up.
      stopped = true;
      moveOn();
      throw err;
    }
  });
  flushPending();
  report();
  // A dataset that has splits deals its new images into them, at the shares last chosen.
  const split = getDataset(db, datasetId).settings.split;
  if (split && result.imported > 0) assignSplits(db, datasetId, split);
  for (const u of listing.unreadable) if (result.failures.length < 200) result.failures.push({ path: u.path, reason: `Cannot read: ${u.reason}` });
  return result;
}
