import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Db } from '../core/store/database.ts';
import { createDataset, listDatasets } from '../core/store/datasets.ts';
import { ensureClass, queryImages, setLabels } from '../core/store/images.ts';
import { heldOutLabels } from '../core/engine/labels.ts';
import { Project } from '../core/store/project.ts';
import { assignSplits, clearSplits, splitSummary, type Split } from '../core/store/splits.ts';
import { Host } from '../core/host/host.ts';
import type { ImportResult } from '../core/images/import.ts';
import { splitsFromLayout } from '../plugins/importers/folder.ts';
import { photo, tempDir } from './helpers/corpus.ts';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'loupe.mjs');

function insertImage(db: Db, datasetId: number, rel: string, status = 'ok'): number {
  return Number(db.prepare("INSERT INTO images (dataset_id, path, rel_path, hash, bytes, mtime_ms, status, width, height) VALUES (?, ?, ?, ?, 100, 0, ?, 10, 10)")
    .run(datasetId, `/data/${rel}`, rel, rel, status).lastInsertRowid);
}

function splitsOf(db: Db, datasetId: number): Map<number, Split | null> {
  const rows = db.prepare('SELECT id, split FROM images WHERE dataset_id = ? ORDER BY id').all(datasetId) as { id: number; split: Split | null }[];
  return new Map(rows.map((r) => [r.id, r.split]));
}

/** A dataset of three classes (100, 37 and 5 images), 50 unlabelled, 3 failed and 2 duplicate files. */
function fixture(name: string): { p: Project; ds: number; byClass: Record<string, number[]> } {
  const p = Project.open(tempDir(name), { create: true });
  const ds = createDataset(p.db, 'set', null);
  const byClass: Record<string, number[]> = {};
  let n = 0;
  for (const [cls, count] of [['leaf', 100], ['rust', 37], ['mildew', 5]] as const) {
    byClass[cls] = Array.from({ length: count }, () => insertImage(p.db, ds, `img_${n++}.png`));
    setLabels(p.db, byClass[cls]!, cls);
  }
  byClass.unlabelled = Array.from({ length: 50 }, () => insertImage(p.db, ds, `img_${n++}.png`));
  for (let i = 0; i < 3; i++) insertImage(p.db, ds, `bad_${i}.png`, 'failed');
  for (let i = 0; i < 2; i++) insertImage(p.db, ds, `dup_${i}.png`, 'duplicate');
  return { p, ds, byClass };
}

test('splits are stratified by label, exact in total, seeded, and leave failed and duplicate files out', () => {
  const { p, ds, byClass } = fixture('split-strata');
  const { assigned, summary } = assignSplits(p.db, ds, { val: 0.1, test: 0.15 });
  assert.equal(assigned, 192);
  // Exact totals over the 192 imported images: round(19.2) and round(28.8).
  assert.deepEqual([summary.val, summary.test, summary.train, summary.none], [19, 29, 144, 0]);
  // Every class (and the unlabelled images) within one image of its share in each split.
  const sizes: Record<string, number> = { leaf: 100, rust: 37, mildew: 5 };
  for (const c of summary.classes) {
    const n = c.className ? sizes[c.className]! : 50;
    assert.ok(Math.abs(c.val - 0.1 * n) < 1 && Math.abs(c.test - 0.15 * n) < 1, `${c.className}: ${JSON.stringify(c)}`);
  }
  assert.deepEqual(summary.classes.map((c) => c.className), ['leaf', 'rust', 'mildew', null], 'largest class first, unlabelled last');
  const first = splitsOf(p.db, ds);
  assert.equal([...first.values()].filter((s) => s === null).length, 5, 'failed and duplicate files get no split');
  assert.deepEqual(listDatasets(p.db)[0]!.splits, { train: 144, val: 19, test: 29, none: 0 });
  // What fine-tuning would learn from: the labelled training images.
  assert.equal(listDatasets(p.db)[0]!.labeledForTraining, summary.classes.filter((c) => c.className !== null).reduce((a, c) => a + c.train, 0));
  assert.equal(listDatasets(p.db)[0]!.labeled, 142);

  // The grid's filter agrees with the counts.
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, split: 'test' }).total, 29);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, split: 'none' }).total, 5);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, split: 'train', classId: (p.db.prepare("SELECT id FROM classes WHERE name = 'leaf'").get() as { id: number }).id }).total, 75);

  // The same request deals the same split; another seed another one, at the same shares.
  clearSplits(p.db, ds);
  assert.deepEqual(splitSummary(p.db, ds).none, 192);
  assignSplits(p.db, ds, { val: 0.1, test: 0.15 });
  assert.deepEqual(splitsOf(p.db, ds), first);
  const other = assignSplits(p.db, ds, { val: 0.1, test: 0.15, seed: 7, reshuffle: true });
  assert.equal(other.summary.test, 29);
  const moved = byClass.leaf!.filter((id) => splitsOf(p.db, ds).get(id) !== first.get(id)).length;
  assert.ok(moved > 10, `another seed moves images (${moved} of 100 leaf images moved)`);
  p.close();
});

test('images added later are dealt without moving those that have a split; bad shares are refused', () => {
  const { p, ds } = fixture('split-fill');
  assignSplits(p.db, ds, { val: 0.1, test: 0.1 });
  const before = splitsOf(p.db, ds);
  const added = Array.from({ length: 60 }, (_, i) => insertImage(p.db, ds, `new_${i}.png`));
  setLabels(p.db, added, 'leaf');
  const { assigned, summary } = assignSplits(p.db, ds, { val: 0.1, test: 0.1 });
  assert.equal(assigned, 60);
  const after = splitsOf(p.db, ds);
  for (const [id, s] of before) assert.equal(after.get(id), s, `image ${id} kept its split`);
  const leaf = summary.classes.find((c) => c.className === 'leaf')!;
  assert.ok(Math.abs(leaf.test - 16) <= 1 && Math.abs(leaf.val - 16) <= 1, JSON.stringify(leaf));
  // Nothing left to deal: the same request changes nothing.
  assert.equal(assignSplits(p.db, ds, { val: 0.3, test: 0.1 }).assigned, 0);
  assert.deepEqual(splitsOf(p.db, ds), after);

  assert.throws(() => assignSplits(p.db, ds, { val: 0.6, test: 0 }), /between 0% and 50%/);
  assert.throws(() => assignSplits(p.db, ds, { val: 0.5, test: 0.4 }), (err: Error & { hint?: string }) => /at most 80%/.test(err.message) && /20% for training/.test(err.hint ?? ''));
  assert.throws(() => assignSplits(p.db, ds, { val: Number.NaN, test: 0.1 }), /between 0% and 50%/);
  assert.deepEqual(splitsOf(p.db, ds), after, 'a refused request changes nothing');
  p.close();
});

test('a split made in the app deals real images imported later, and the CLI shows and changes it', { timeout: 120_000 }, async () => {
  const root = tempDir('split-import');
  const write = async (folder: string, cls: string, count: number, seed0: number) => {
    fs.mkdirSync(path.join(root, folder, cls), { recursive: true });
    for (let i = 0; i < count; i++) await photo(24, 24, seed0 + i).png().toFile(path.join(root, folder, cls, `${folder} ${i}.png`));
  };
  await write('first', 'healthy', 30, 0);
  await write('first', 'spotted', 10, 100);
  await write('second', 'healthy', 20, 200);
  const dir = tempDir('split-project');
  const host = new Host({ projectDir: dir, userDir: tempDir('split-user'), transport: 'http' });
  const importInto = async (folder: string, datasetId?: number) => {
    const { jobId } = (await host.call('import.start', { folder: path.join(root, folder), labels: { kind: 'folders' }, ...(datasetId ? { datasetId } : {}) })) as { jobId: number };
    const job = await host.jobs.waitFor(jobId);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    return job.result as ImportResult;
  };
  const { datasetId: id } = await importInto('first');
  await assert.rejects(host.call('datasets.split', { id, val: 0.7, test: 0 }), /Invalid request to datasets.split: val/);
  const made = (await host.call('datasets.split', { id, val: 0.2, test: 0.2 })) as { assigned: number; summary: { train: number; val: number; test: number } };
  assert.deepEqual([made.assigned, made.summary.train, made.summary.val, made.summary.test], [40, 24, 8, 8]);
  const kept = splitsOf(host.project.db, id);
  assert.deepEqual(listDatasets(host.project.db)[0]!.settings.split, { val: 0.2, test: 0.2, seed: 0, groupBy: 'none' });

  // 20 more healthy images: dealt at 20% / 20% on import, the first 40 untouched.
  assert.equal((await importInto('second', id)).imported, 20);
  const now = splitsOf(host.project.db, id);
  for (const [imageId, s] of kept) assert.equal(now.get(imageId), s);
  const summary = splitSummary(host.project.db, id);
  assert.equal(summary.none, 0);
  assert.deepEqual(summary.classes.find((c) => c.className === 'healthy'), { className: 'healthy', train: 30, val: 10, test: 10, none: 0 });
  const detail = (await host.call('images.get', { id: [...now.keys()][0]! })) as { split: string | null };
  assert.ok(['train', 'val', 'test'].includes(detail.split ?? ''));
  host.close();

  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'split', dir, ...args], { encoding: 'utf8', timeout: 60_000 });
  const shown = cli('--show', '--json');
  assert.equal(shown.status, 0, shown.stderr);
  assert.deepEqual((({ train, val, test, none }) => ({ train, val, test, none }))(JSON.parse(shown.stdout)), { train: 36, val: 12, test: 12, none: 0 });
  const same = cli('--val', '30', '--test', '10');
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stdout, /already has a split and keeps it.*--reshuffle/s);
  const redo = cli('--val', '30', '--test', '10', '--reshuffle', '--json');
  assert.equal(redo.status, 0, redo.stderr);
  assert.deepEqual((({ assigned, val, test }) => ({ assigned, val, test }))(JSON.parse(redo.stdout)), { assigned: 60, val: 18, test: 6 });
  const bad = cli('--test', '60');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--test must be a percentage between 0 and 50/);
  // By folder (here one per class): each class's images land in one split, and the choice is kept.
  const byFolder = cli('--by-folder', '--reshuffle', '--json');
  assert.equal(byFolder.status, 0, byFolder.stderr);
  for (const c of JSON.parse(byFolder.stdout).classes as { train: number; val: number; test: number }[]) assert.equal([c.train, c.val, c.test].filter((n) => n > 0).length, 1, JSON.stringify(c));
  assert.match(cli('--reshuffle').stdout, /each folder whole/);
  const cleared = cli('--clear');
  assert.match(cleared.stdout, /Cleared the split of 60 image/);
});

test('a folder laid out as train / val / test keeps that split on import; a lone "test" folder is just a folder', { timeout: 60_000 }, async () => {
  assert.deepEqual(splitsFromLayout(['test/a.png', 'cats/b.png']), [undefined, undefined], 'no training folder: no split layout');
  assert.deepEqual(splitsFromLayout(['Training/cat/a.png', 'Validation/cat/b.png', 'train.png', 'other/c.png']), ['train', 'val', undefined, undefined]);
  const root = tempDir('split-layout');
  const files = ['train/healthy/a.png', 'train/healthy/b.png', 'train/spotted/c.png', 'train/loose.png', 'test/healthy/d.png', 'test/spotted/e.png', 'valid/spotted/f.png', 'extras/healthy/g.png'];
  for (const [i, rel] of files.entries()) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    await photo(20, 20, 300 + i).png().toFile(path.join(root, rel));
  }
  const host = new Host({ projectDir: tempDir('split-layout-project'), userDir: tempDir('split-layout-user'), transport: 'http' });
  try {
    const { jobId } = (await host.call('import.start', { folder: root, labels: { kind: 'folders' } })) as { jobId: number };
    const job = await host.jobs.waitFor(jobId);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.equal((job.result as ImportResult).split, 7);
    const rows = host.project.db.prepare(`SELECT i.rel_path AS rel, i.split, (SELECT c.name FROM labels l JOIN classes c ON c.id = l.class_id WHERE l.image_id = i.id) AS label FROM images i ORDER BY i.rel_path`).all() as { rel: string; split: string | null; label: string | null }[];
    assert.deepEqual(rows.map((r) => [r.rel, r.split, r.label]), [
      ['extras/healthy/g.png', null, 'healthy'],
      ['test/healthy/d.png', 'test', 'healthy'],
      ['test/spotted/e.png', 'test', 'spotted'],
      ['train/healthy/a.png', 'train', 'healthy'],
      ['train/healthy/b.png', 'train', 'healthy'],
      ['train/loose.png', 'train', null],
      ['train/spotted/c.png', 'train', 'spotted'],
      ['valid/spotted/f.png', 'val', 'spotted'],
    ], 'splits from the top folders; classes from the folder below them, never the split folder');
  } finally {
    host.close();
  }
});

test('by folder: each folder (one slide, patient, …) goes whole to one split, near the shares; new images join their folder\'s split', () => {
  const p = Project.open(tempDir('split-folders'), { create: true });
  const ds = createDataset(p.db, 'slides', null);
  const sizes = [5, 16, 9, 12, 7, 14, 6, 11, 8, 15, 10, 13, 9, 7, 12, 10];
  sizes.forEach((n, k) => {
    const ids = Array.from({ length: n }, (_, j) => insertImage(p.db, ds, `slide_${k}/tile_${j}.png`));
    setLabels(p.db, ids, k % 2 ? 'tumour' : 'normal');
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  const folderSplits = () => {
    const rows = p.db.prepare('SELECT rel_path AS rel, split FROM images WHERE dataset_id = ?').all(ds) as { rel: string; split: Split | null }[];
    const byFolder = new Map<string, Set<Split | null>>();
    for (const r of rows) byFolder.set(r.rel.split('/')[0]!, (byFolder.get(r.rel.split('/')[0]!) ?? new Set()).add(r.split));
    return byFolder;
  };
  const { assigned, summary } = assignSplits(p.db, ds, { val: 0.2, test: 0.2, groupBy: 'folder' });
  assert.equal(assigned, total);
  for (const [folder, splits] of folderSplits()) assert.equal(splits.size, 1, `${folder} is in one split: ${[...splits]}`);
  for (const s of ['val', 'test'] as const) assert.ok(Math.abs(summary[s] - 0.2 * total) <= Math.max(...sizes), `${s}: ${summary[s]} of ${total}`);
  assert.ok(summary.val > 0 && summary.test > 0 && summary.train > summary.val);
  // Split image by image, the same data puts nearly every folder in several splits.
  assignSplits(p.db, ds, { val: 0.2, test: 0.2, reshuffle: true });
  assert.ok([...folderSplits().values()].filter((s) => s.size > 1).length >= 12);
  // Back to folders; then a new tile of slide 3 joins slide 3's split, and a new slide is dealt whole.
  assignSplits(p.db, ds, { val: 0.2, test: 0.2, groupBy: 'folder', reshuffle: true });
  const slide3 = [...folderSplits().get('slide_3')!][0]!;
  insertImage(p.db, ds, 'slide_3/tile_new.png');
  const newSlide = Array.from({ length: 6 }, (_, j) => insertImage(p.db, ds, `slide_new/tile_${j}.png`));
  assert.equal(assignSplits(p.db, ds, { val: 0.2, test: 0.2, groupBy: 'folder' }).assigned, 7);
  const now = folderSplits();
  assert.deepEqual([...now.get('slide_3')!], [slide3]);
  assert.equal(now.get('slide_new')!.size, 1);
  assert.equal(splitsOf(p.db, ds).get(newSlide[0]!) !== null, true);
  p.close();
});

test('the held-out truth models are scored on: a person\'s label over an imported one, an image with two classes of one source left out, training images never', () => {
  const { p, ds, byClass } = fixture('split-truth');
  assignSplits(p.db, ds, { val: 0.2, test: 0.2 });
  const split = splitsOf(p.db, ds);
  const held = byClass.leaf!.filter((id) => split.get(id) === 'val' || split.get(id) === 'test');
  const train = byClass.leaf!.filter((id) => split.get(id) === 'train');
  assert.ok(held.length >= 3 && train.length > 0);
  // The fixture's labels are a person's; as imported labels instead, then a person corrects one.
  const all = Object.values(byClass).flat();
  p.db.prepare("UPDATE labels SET source = 'import' WHERE source = 'human'").run();
  setLabels(p.db, [held[0]!], 'rust');
  // Two imported classes on one image: no single truth.
  p.db.prepare("INSERT INTO labels (image_id, class_id, source) VALUES (?, ?, 'import')").run(held[1]!, ensureClass(p.db, ds, 'mildew'));
  const truth = heldOutLabels(p.db, ds);
  assert.equal(truth.get(held[0]!), 'rust', 'the person\'s correction wins');
  assert.equal(truth.has(held[1]!), false, 'two classes from one source: left out');
  assert.equal(truth.get(held[2]!), 'leaf');
  assert.ok(train.every((id) => !truth.has(id)), 'training images are not held out');
  assert.ok(byClass.unlabelled!.every((id) => !truth.has(id)));
  const expected = all.filter((id) => (split.get(id) === 'val' || split.get(id) === 'test') && !byClass.unlabelled!.includes(id) && id !== held[1]).length;
  assert.equal(truth.size, expected);
  p.close();
});
