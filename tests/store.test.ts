import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, openDatabase, schemaVersion } from '../core/store/database.ts';
import { createDataset, listDatasets, updateDatasetSettings } from '../core/store/datasets.ts';
import { queryImages, setLabels, setTag } from '../core/store/images.ts';
import { latestVersion, migrations } from '../core/store/migrations.ts';
import { Project } from '../core/store/project.ts';
import { tempDir } from './helpers/corpus.ts';

function insertImage(db: Database.Database, datasetId: number, rel: string, extra: Record<string, unknown> = {}): number {
  return Number(
    db
      .prepare("INSERT INTO images (dataset_id, path, rel_path, hash, bytes, mtime_ms, status, width, height) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)")
      .run(datasetId, `/data/${rel}`, rel, extra.hash ?? rel, extra.bytes ?? 100, extra.status ?? 'ok', extra.width ?? 10, extra.height ?? 10).lastInsertRowid,
  );
}

test('a new project is a folder with a WAL database at the latest schema', () => {
  const dir = path.join(tempDir('store'), 'my project');
  const p = Project.open(dir, { create: true });
  assert.equal(schemaVersion(p.db), latestVersion);
  assert.equal(p.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(p.db.pragma('foreign_keys', { simple: true }), 1);
  for (const sub of ['thumbs', 'checkpoints', 'embeddings']) assert.ok(fs.statSync(path.join(dir, sub)).isDirectory());
  p.close();
  assert.throws(() => Project.open(path.join(dir, 'missing')), /No Loupe project/);
});

test('migrations are applied once, in order, and a failing one leaves the previous version intact', () => {
  const file = path.join(tempDir('mig'), 'db.sqlite');
  const db = openDatabase(file);
  migrate(db); // idempotent
  assert.equal(schemaVersion(db), latestVersion);
  const broken = [...migrations, { version: latestVersion + 1, name: 'broken', sql: 'CREATE TABLE extra (x); SELECT * FROM no_such_table;' }];
  assert.throws(() => migrate(db, broken));
  assert.equal(schemaVersion(db), latestVersion);
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'extra'").get() as { n: number }).n, 0);
  const good = [...migrations, { version: latestVersion + 1, name: 'add notes', sql: 'ALTER TABLE datasets ADD COLUMN notes TEXT;' }];
  migrate(db, good);
  assert.equal(schemaVersion(db), latestVersion + 1);
  db.close();
  assert.throws(() => openDatabase(file), /newer Loupe/);
});

test('foreign keys cascade: deleting a dataset removes its images and labels', () => {
  const p = Project.open(tempDir('fk'), { create: true });
  const ds = createDataset(p.db, 'cells', '/data');
  const a = insertImage(p.db, ds, 'a.png');
  setLabels(p.db, [a], 'mitosis');
  assert.throws(() => createDataset(p.db, 'cells', null), /already exists/);
  p.db.prepare('DELETE FROM datasets WHERE id = ?').run(ds);
  assert.equal((p.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n, 0);
  assert.equal((p.db.prepare('SELECT COUNT(*) AS n FROM labels').get() as { n: number }).n, 0);
  p.close();
});

test('image queries page, filter, search and sort', () => {
  const p = Project.open(tempDir('query'), { create: true });
  const ds = createDataset(p.db, 'set', null);
  const ids = Array.from({ length: 250 }, (_, i) => insertImage(p.db, ds, `img_${String(i).padStart(3, '0')}.png`, { bytes: 1000 - i, status: i % 50 === 0 ? 'failed' : 'ok' }));
  setLabels(p.db, ids.slice(0, 10), 'cat');
  setLabels(p.db, ids.slice(0, 5), 'dog'); // human label replaces the previous human label
  setTag(p.db, ids.slice(100, 103), 'check', true);

  const page = queryImages(p.db, { datasetId: ds, offset: 100, limit: 20 });
  assert.equal(page.total, 250);
  assert.deepEqual(page.items.map((i) => i.relPath)[0], 'img_100.png');
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, status: 'failed' }).total, 5);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, search: 'img_19' }).total, 10);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, search: '%' }).total, 0, 'LIKE wildcards are escaped');
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1, tag: 'check' }).total, 3);
  const bySize = queryImages(p.db, { datasetId: ds, offset: 0, limit: 3, sort: 'size' });
  assert.equal(bySize.items[0]!.relPath, 'img_249.png');
  const classes = p.db.prepare('SELECT id, name FROM classes').all() as { id: number; name: string }[];
  const dog = classes.find((c) => c.name === 'dog')!.id;
  const cat = classes.find((c) => c.name === 'cat')!.id;
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 50, classId: dog }).total, 5);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 50, classId: cat }).total, 5);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 50, classId: 'unlabeled' }).total, 240);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 1 }).items[0]!.label, 'dog');
  // The trigger-kept label count agrees with the labels table after inserts, replaces and deletes.
  setLabels(p.db, ids.slice(0, 3), null);
  const drift = p.db.prepare('SELECT COUNT(*) AS n FROM images i WHERE label_count <> (SELECT COUNT(*) FROM labels l WHERE l.image_id = i.id)').get() as { n: number };
  assert.equal(drift.n, 0);
  assert.equal(queryImages(p.db, { datasetId: ds, offset: 0, limit: 50, classId: 'unlabeled' }).total, 243);
  setLabels(p.db, ids.slice(0, 3), 'dog');
  const [row] = listDatasets(p.db);
  assert.deepEqual(row!.counts, { ok: 245, duplicate: 0, failed: 5 });
  assert.equal(row!.labeled, 9, 'labelled among the imported images: image 0 failed to import');
  updateDatasetSettings(p.db, ds, { display: { channelMap: [2, 1, 0], percentiles: [0, 100] } });
  assert.deepEqual(listDatasets(p.db)[0]!.settings.display.channelMap, [2, 1, 0]);
  p.close();
});
