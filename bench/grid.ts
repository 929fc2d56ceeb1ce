/**
 * Grid paging: 100k images in a real project database, pages of 200 fetched at random offsets
 * as a scrolling grid does, for the default view and for filtered ones. Target: p95 < 20 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDataset } from '../core/store/datasets.ts';
import { type ImageQuery, queryImages } from '../core/store/images.ts';
import { Project } from '../core/store/project.ts';

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rows: { type: 'string', default: '100000' }, pages: { type: 'string', default: '300' } } });
  const rows = Number(values.rows);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-grid-'));
  const project = Project.open(dir, { create: true });
  const { db } = project;
  const ds = createDataset(db, 'bench', '/data');
  const classes = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((name) => Number(db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)').run(ds, name).lastInsertRowid));
  const insert = db.prepare("INSERT INTO images (dataset_id, path, rel_path, hash, format, width, height, channels, bit_depth, bytes, mtime_ms, status) VALUES (?, ?, ?, ?, 'jpeg', 1024, 768, 3, 8, ?, 0, ?)");
  const label = db.prepare("INSERT INTO labels (image_id, class_id, source) VALUES (?, ?, 'import')");
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const rel = `plate_${String(i % 97).padStart(2, '0')}/well_${String(i).padStart(7, '0')}.jpg`;
      const id = Number(insert.run(ds, `/data/${rel}`, rel, i.toString(16).padStart(64, '0'), 100_000 + ((i * 7919) % 50_000), i % 100 === 0 ? 'failed' : 'ok').lastInsertRowid);
      if (i % 3 === 0) label.run(id, classes[i % classes.length]!);
    }
  })();
  console.log(`Inserted ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const scenarios: [string, Omit<ImageQuery, 'offset' | 'limit'>][] = [
    ['default view (imported, by name)', { datasetId: ds, status: 'ok', sort: 'name' }],
    ['all files, import order', { datasetId: ds, status: 'all', sort: 'imported' }],
    ['one class', { datasetId: ds, status: 'ok', classId: classes[1]!, sort: 'name' }],
    ['unlabelled', { datasetId: ds, status: 'ok', classId: 'unlabeled', sort: 'name' }],
    ['file-name search', { datasetId: ds, status: 'ok', search: 'plate_42', sort: 'name' }],
    ['sort by file size, descending', { datasetId: ds, status: 'ok', sort: 'size', desc: true }],
  ];
  console.log(`\nGrid paging — ${rows} images, pages of 200 at random offsets, ${values.pages} pages per view (target: p95 < 20 ms)`);
  for (const [name, q] of scenarios) {
    const { total } = queryImages(db, { ...q, offset: 0, limit: 1 });
    // Scrolling fetches pages without the count; opening a view fetches page 0 with it.
    const times: number[] = [];
    for (let i = 0; i < Number(values.pages); i++) {
      const offset = Math.floor(Math.random() * Math.max(1, total - 200));
      const t = performance.now();
      queryImages(db, { ...q, offset, limit: 200, count: false });
      times.push(performance.now() - t);
    }
    const first: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      queryImages(db, { ...q, offset: 0, limit: 200 });
      first.push(performance.now() - t);
    }
    console.log(`  ${name.padEnd(34)} ${String(total).padStart(7)} rows · scroll page p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms · first page + count p95 ${percentile(first, 95).toFixed(1)} ms`);
  }
  project.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
