import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { Host } from '../core/host/host.ts';
import { listDatasets } from '../core/store/datasets.ts';
import type { ImportResult } from '../core/images/import.ts';
import { parseLabelsCsv } from '../plugins/importers/folder.ts';
import { buildCorpus, type Corpus, photo, tempDir } from './helpers/corpus.ts';

let corpus: Corpus;
before(async () => {
  corpus = await buildCorpus(tempDir('corpus'));
});

async function importInto(host: Host, folder: string, labels: unknown = { kind: 'folders' }): Promise<ImportResult> {
  const { jobId } = (await host.call('import.start', { folder, labels })) as { jobId: number };
  const job = await host.jobs.waitFor(jobId);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  return job.result as ImportResult;
}

function newHost(): Host {
  return new Host({ projectDir: tempDir('proj'), userDir: tempDir('user'), transport: 'http' });
}

test('imports every supported format, records bad files with reasons, dedupes by content', async () => {
  const host = newHost();
  const r = await importInto(host, corpus.root);
  assert.equal(r.imported, corpus.good.length);
  assert.equal(r.duplicates, corpus.duplicates.length);
  assert.equal(r.failed, Object.keys(corpus.bad).length + corpus.unsupported.length);
  assert.equal(r.ignored, corpus.ignored.length);
  for (const [rel, why] of Object.entries(corpus.bad)) {
    const f = r.failures.find((x) => x.path === rel);
    assert.ok(f, `${rel} recorded as failed`);
    assert.match(f.reason.toLowerCase(), new RegExp(why), `${rel}: ${f.reason}`);
  }
  assert.match(r.failures.find((f) => f.path.endsWith('.dcm'))!.reason, /Unsupported format \(DICOM\)/);

  const db = host.project.db;
  const row = (rel: string) => db.prepare('SELECT * FROM images WHERE rel_path = ?').get(rel) as Record<string, unknown>;
  // Formats detected from content, not extension.
  assert.equal(row('dogs/really-a-png.jpg').format, 'png');
  assert.equal(row('cats/f.avif').format, 'avif');
  assert.equal(row('dogs/g.bmp').format, 'bmp');
  assert.equal(row('cats/e.gif').format, 'gif');
  // EXIF orientation honoured: stored 120×80, displayed 80×120.
  assert.deepEqual([row('dogs/rotated.jpg').width, row('dogs/rotated.jpg').height], [80, 120]);
  // Scientific TIFFs keep their depth and channel count.
  assert.deepEqual([row('micro/gray16.tif').bit_depth, row('micro/gray16.tif').channels], [16, 1]);
  assert.deepEqual([row('micro/five-channel.tif').bit_depth, row('micro/five-channel.tif').channels], [16, 5]);
  // Duplicates point at their original.
  assert.equal(row('dogs/copy-of-a.jpg').status, 'duplicate');
  assert.equal(row('dogs/copy-of-a.jpg').duplicate_of, row('cats/a.jpg').id);
  // Odd names survive.
  assert.equal(row('dogs/日本語-ümlaut-émoji🙂.jpg').status, 'ok');
  assert.equal(row('dogs/with spaces & (1).png').status, 'ok');

  // Every good image has a real thumbnail within 256 px, oriented.
  for (const rel of corpus.good) {
    const file = host.thumbnailFile(row(rel).id as number);
    assert.ok(file, `thumbnail for ${rel}`);
    const meta = await sharp(file).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(meta.width! <= 256 && meta.height! <= 256);
  }
  const rotated = await sharp(host.thumbnailFile(row('dogs/rotated.jpg').id as number)).metadata();
  assert.ok(rotated.height! > rotated.width!, 'thumbnail is upright');

  // The 16-bit image's display rendition is stretched: 12-bit data no longer renders near-black.
  const stats = await sharp(host.thumbnailFile(row('micro/gray16.tif').id as number)).stats();
  assert.ok(stats.channels[0]!.max > 200 && stats.channels[0]!.min < 30, `stretched range ${stats.channels[0]!.min}..${stats.channels[0]!.max}`);

  // Labels from sub-folder names.
  const classes = (await host.call('classes.list', { datasetId: r.datasetId })) as { name: string; count: number }[];
  assert.deepEqual(classes.map((c) => c.name).sort(), ['cats', 'dogs', 'micro']);
  assert.equal(classes.find((c) => c.name === 'cats')!.count, 6);
  host.close();
});

test('re-importing the same folder is idempotent; files that failed are tried again and fail the same way', async () => {
  const host = newHost();
  const first = await importInto(host, corpus.root);
  const count = () => (host.project.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
  const reasons = () => host.project.db.prepare("SELECT rel_path, error FROM images WHERE status = 'failed' ORDER BY rel_path").all();
  const before = count(), failedBefore = reasons();
  const again = await importInto(host, corpus.root);
  assert.equal(again.imported, 0);
  // Decodable-but-broken files are retried (a failure may have been transient); known-unsupported
  // formats are listed as failed each time too. Either way: same rows, same reasons.
  assert.equal(again.failed, first.failed);
  assert.equal(again.unchanged, before - first.failed);
  assert.deepEqual(reasons(), failedBefore);
  assert.equal(count(), before);
  assert.equal(again.datasetId, first.datasetId);
  host.close();
});

test('rows are written in the order of the file names, whatever order the decodes finish in', async () => {
  // A large noisy PNG first by name takes far longer to decode than the small JPEGs after it; its
  // identical copy comes last. Ids must follow the names, and the first copy is the original.
  const dir = tempDir('order');
  const noise = Buffer.alloc(2400 * 2400 * 3);
  for (let i = 0, x = 1; i < noise.length; i++) (x = (x * 1103515245 + 12345) >>> 0), (noise[i] = x >>> 24);
  const big = await sharp(noise, { raw: { width: 2400, height: 2400, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
  fs.writeFileSync(path.join(dir, 'a-big.png'), big);
  fs.writeFileSync(path.join(dir, 'z-big-copy.png'), big);
  for (let i = 0; i < 40; i++) await photo(64, 48, i).jpeg().toFile(path.join(dir, `m-${String(i).padStart(2, '0')}.jpg`));
  const host = newHost();
  const r = await importInto(host, dir, { kind: 'none' });
  assert.equal(r.imported, 41);
  const rows = host.project.db.prepare('SELECT id, rel_path, status, duplicate_of FROM images ORDER BY id').all() as { id: number; rel_path: string; status: string; duplicate_of: number | null }[];
  assert.deepEqual(rows.map((x) => x.rel_path), [...rows.map((x) => x.rel_path)].sort());
  assert.equal(rows.at(-1)!.status, 'duplicate');
  assert.equal(rows.at(-1)!.duplicate_of, rows[0]!.id);
  host.close();
});

test('labels from a CSV, with a header and quoted names', async () => {
  const host = newHost();
  const csv = path.join(tempDir('csv'), 'labels.csv');
  fs.writeFileSync(csv, 'path,label\ncats/a.jpg,"tabby, orange"\ndogs/g.bmp,terrier\nmissing.png,ghost\n');
  const r = await importInto(host, corpus.root, { kind: 'csv', file: csv });
  assert.equal(r.labeled, 2);
  const classes = (await host.call('classes.list', { datasetId: r.datasetId })) as { name: string }[];
  assert.deepEqual(classes.map((c) => c.name).sort(), ['tabby, orange', 'terrier']);
  assert.throws(() => parseLabelsCsv('only-one-column\n'), /two columns/);
  host.close();
});

test('a missing folder is a clear error, not a crash', async () => {
  const host = newHost();
  await assert.rejects(host.call('import.start', { folder: '/no/such/folder', labels: { kind: 'none' } }), /Folder not found/);
  await assert.rejects(host.call('import.start', { labels: { kind: 'none' } }), /Invalid request to import.start: folder/);
  host.close();
});

test('changing the channel map redraws scientific thumbnails', async () => {
  const host = newHost();
  const r = await importInto(host, corpus.root);
  const id = (host.project.db.prepare("SELECT id FROM images WHERE rel_path = 'micro/five-channel.tif'").get() as { id: number }).id;
  const before = await sharp(host.thumbnailFile(id)!).raw().toBuffer();
  const { jobId } = (await host.call('datasets.setDisplay', { id: r.datasetId, channelMap: [4, 3, null] })) as { jobId: number };
  assert.equal((await host.jobs.waitFor(jobId)).state, 'done');
  const after = await sharp(host.thumbnailFile(id)!).stats();
  assert.ok(after.channels[2]!.mean < after.channels[0]!.mean / 4, `blue is (nearly) empty when mapped to nothing: ${after.channels.map((c) => c.mean.toFixed(1))}`);
  assert.notDeepEqual(await sharp(host.thumbnailFile(id)!).raw().toBuffer(), before);
  host.close();
});

test('truncation is recognised from the bytes, whatever libvips reports', async () => {
  const { lacksEndMarker, explainDecodeError } = await import('../core/images/decode.ts');
  const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#a33' } }).jpeg().toBuffer();
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#a33' } }).png().toBuffer();
  assert.equal(lacksEndMarker(jpeg), false);
  assert.equal(lacksEndMarker(png), false);
  assert.equal(lacksEndMarker(jpeg.subarray(0, jpeg.length - 10)), true);
  assert.equal(lacksEndMarker(png.subarray(0, png.length - 20)), true);
  assert.match(explainDecodeError(new Error('Unknown error'), jpeg.subarray(0, 100)).message, /truncated/);
  assert.match(explainDecodeError(new Error('Unknown error'), jpeg).message, /Could not decode/);
  assert.match(explainDecodeError(new Error('heif: Error while loading plugin: Support for this compression format has not been built in (unsupported codec)')).message, /HEIC .* HEVC/);
});

test('a large 16-bit image is drawn from a streamed resize with its contrast stretched', async () => {
  const { writeTiff } = await import('./helpers/corpus.ts');
  const { openImage, renderDisplay } = await import('../core/images/decode.ts');
  const w = 3000;
  const h = 2000;
  const data = new Uint16Array(w * h).map((_, i) => 1000 + ((i % w) * 3000) / w); // 12-bit ramp, left to right
  const image = await openImage(writeTiff(w, h, 1, 16, data));
  assert.deepEqual([image.info.bitDepth, image.info.channels, image.info.scientific], [16, 1, true]);
  const out = await renderDisplay(image, 256, { channelMap: [0, 1, 2], percentiles: [1, 99.5] }, 'jpeg');
  const { data: px, info } = await sharp(out).greyscale().raw().toBuffer({ resolveWithObject: true });
  assert.equal(Math.max(info.width, info.height), 256);
  const row = Math.floor(info.height / 2) * info.width;
  assert.ok(px[row + 2]! < 20 && px[row + info.width - 3]! > 235, `ramp stretched to full range: ${px[row + 2]}..${px[row + info.width - 3]}`);
});

test('a grey + alpha PNG (a real emoji) is an ordinary image with transparency, not two bands to stretch', async (t) => {
  const file = path.resolve('node_modules/emoji-datasource-google/img/google/64/1f411.png');
  if (!fs.existsSync(file)) return t.skip('emoji-datasource-google is not installed');
  const { openImage, renderDisplay } = await import('../core/images/decode.ts');
  const { renderTrainingPixels } = await import('../core/engine/data/cache.ts');
  const display = { channelMap: [0, 1, 2] as [number, number, number], percentiles: [1, 99.5] as [number, number] };
  const image = await openImage(fs.readFileSync(file));
  assert.deepEqual([image.info.channels, image.info.scientific], [2, false]);
  // The thumbnail keeps the transparency and stays grey (the alpha band is not drawn as green).
  const thumb = await sharp(await renderDisplay(image, 64, display, 'webp')).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let transparent = 0, opaque = 0, colourful = 0;
  for (let i = 0; i < thumb.info.width * thumb.info.height; i++) {
    const [r, g, b, a] = [0, 1, 2, 3].map((c) => thumb.data[i * 4 + c]!) as [number, number, number, number];
    if (a < 8) transparent++;
    else if (a > 247) (opaque++, Math.max(Math.abs(r - g), Math.abs(g - b)) > 12 && colourful++);
  }
  assert.ok(transparent > 200 && opaque > 200, `${transparent} transparent, ${opaque} opaque pixels`);
  assert.ok(colourful < opaque * 0.02, `${colourful} of ${opaque} opaque pixels have colour`);
  // Training sees it on white, in grey.
  const px = await renderTrainingPixels(file, 32, display);
  assert.deepEqual([...px.subarray(0, 3)], [255, 255, 255], 'the transparent corner is white');
  for (let i = 0; i < 32 * 32; i++) assert.ok(Math.abs(px[i * 3]! - px[i * 3 + 1]!) <= 2, 'grey, not alpha in the green band');
  // Imported beside a 16-bit TIFF, only the TIFF asks for a display mapping.
  const folder = tempDir('grey-alpha');
  fs.copyFileSync(file, path.join(folder, 'sheep.png'));
  const { writeTiff } = await import('./helpers/corpus.ts');
  fs.writeFileSync(path.join(folder, 'deep.tif'), writeTiff(8, 8, 1, 16, new Uint16Array(64).map((_, i) => i * 500)));
  const host = newHost();
  try {
    const r = await importInto(host, folder, { kind: 'none' });
    const row = listDatasets(host.project.db).find((d) => d.id === r.datasetId)!;
    assert.deepEqual(row.scientific, { images: 1, maxChannels: 1 });
  } finally {
    host.close();
  }
});

test('a project from before the grey + alpha fix redraws those thumbnails when it opens, and only those', async (t) => {
  const sheep = path.resolve('node_modules/emoji-datasource-google/img/google/64/1f411.png');
  if (!fs.existsSync(sheep)) return t.skip('emoji-datasource-google is not installed');
  const folder = tempDir('stale-thumbs');
  fs.copyFileSync(sheep, path.join(folder, 'sheep.png'));
  await photo(40, 30, 3).png().toFile(path.join(folder, 'photo.png'));
  const projectDir = tempDir('proj'), userDir = tempDir('user');
  let host = new Host({ projectDir, userDir, transport: 'http' });
  await importInto(host, folder);
  const rows = new Map((host.project.db.prepare('SELECT rel_path AS name, hash FROM images').all() as { name: string; hash: string }[]).map((r) => [r.name, r.hash]));
  const sheepThumb = host.project.thumbPath(rows.get('sheep.png')!), photoThumb = host.project.thumbPath(rows.get('photo.png')!);
  // What the old renderer left: the sheep drawn green, and the schema of that time (version 6:
  // migrations 7 and 8 undone).
  const green = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 20, g: 220, b: 20 } } }).webp().toBuffer();
  fs.writeFileSync(sheepThumb, green);
  const photoBefore = fs.readFileSync(photoThumb);
  host.project.db.exec('DROP TABLE stale_thumbnails; ALTER TABLE iws_lfs DROP COLUMN novelty;');
  host.project.db.pragma('user_version = 6');
  host.close();

  host = new Host({ projectDir, userDir, transport: 'http' });
  try {
    const job = host.jobs.list(10).find((j) => j.kind === 'redraw-stale-thumbnails');
    assert.ok(job, 'opening the project starts the redraw');
    const done = await host.jobs.waitFor(job.id);
    assert.deepEqual([done.state, done.result], ['done', { redrawn: 1, missing: 0 }]);
    const { data, info } = await sharp(fs.readFileSync(sheepThumb)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let greenish = 0;
    for (let i = 0; i < info.width * info.height; i++) if (data[i * 3 + 1]! > data[i * 3]! + 40) greenish++;
    assert.ok(greenish < info.width * info.height * 0.02, `${greenish} green pixels remain`);
    assert.deepEqual(fs.readFileSync(photoThumb), photoBefore, 'an RGB thumbnail is not redrawn');
    assert.equal((host.project.db.prepare('SELECT COUNT(*) AS n FROM stale_thumbnails').get() as { n: number }).n, 0);
    // The preview keeps the sheep's transparency (WebP; JPEG would put it on black); the photo stays JPEG.
    const idOf = (name: string) => (host.project.db.prepare('SELECT id FROM images WHERE rel_path = ?').get(name) as { id: number }).id;
    const sheepPreview = await host.preview(idOf('sheep.png')), photoPreview = await host.preview(idOf('photo.png'));
    assert.deepEqual([sheepPreview.contentType, photoPreview.contentType], ['image/webp', 'image/jpeg']);
    const drawn = await sharp(sheepPreview.bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    let clear = 0;
    for (let i = 0; i < drawn.info.width * drawn.info.height; i++) if (drawn.data[i * 4 + 3]! < 8) clear++;
    assert.ok(clear > 200, `${clear} transparent pixels in the preview`);
    assert.equal((await sharp(photoPreview.bytes).metadata()).format, 'jpeg');
  } finally {
    host.close();
  }
  // Nothing left to redraw: opening again starts no job.
  host = new Host({ projectDir, userDir, transport: 'http' });
  try {
    assert.equal(host.jobs.list(10).filter((j) => j.kind === 'redraw-stale-thumbnails').length, 1);
  } finally {
    host.close();
  }
});

test('deleting a dataset removes its rows and the thumbnails no other dataset uses', async () => {
  const host = newHost();
  const a = await importInto(host, corpus.root);
  const other = tempDir('shared-one');
  fs.copyFileSync(path.join(corpus.root, 'cats/b.png'), path.join(other, 'b.png'));
  await importInto(host, other, { kind: 'none' });
  const hashOf = (rel: string) => (host.project.db.prepare('SELECT hash FROM images WHERE rel_path = ? AND dataset_id = ?').get(rel, a.datasetId) as { hash: string }).hash;
  const shared = host.project.thumbPath(hashOf('cats/b.png'));
  const own = host.project.thumbPath(hashOf('cats/a.jpg'));
  assert.ok(fs.existsSync(shared) && fs.existsSync(own));
  await host.call('datasets.delete', { id: a.datasetId });
  assert.equal((host.project.db.prepare('SELECT COUNT(*) AS n FROM images WHERE dataset_id = ?').get(a.datasetId) as { n: number }).n, 0);
  assert.ok(!fs.existsSync(own), 'an unshared thumbnail is removed');
  assert.ok(fs.existsSync(shared), 'a thumbnail another dataset uses stays');
  assert.ok(fs.existsSync(path.join(corpus.root, 'cats/a.jpg')), 'the original file is untouched');
  host.close();
});
