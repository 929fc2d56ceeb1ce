/**
 * The real labelled image sets of ../shared/README.md as Loupe projects, for the benchmarks:
 * Fashion-MNIST (Debian `dataset-fashion-mnist`, fetched with `apt-get download` + `dpkg -x` into
 * bench/.cache when it is not installed) and the Google emoji (the `emoji-datasource-google`
 * devDependency). Each becomes a project imported the way a user would (PNG files in class
 * folders, labels from folder names) with a fixed train/test split: Fashion-MNIST's own, and for
 * the emoji by base emoji, so a skin-tone variant never sits across the split from its base.
 * Projects are cached in bench/.cache and reused by later benchmarks.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { emojiPackageDir } from '../../core/demo.ts';
import { Host } from '../../core/host/host.ts';

export const CACHE = path.resolve(import.meta.dirname, '..', '.cache');

export type SetName = 'fashion-mnist' | 'emoji';

export interface BenchSet {
  name: SetName;
  host: Host;
  dir: string;
  datasetId: number;
  images: number;
  classes: number;
  close(): void;
}

const FASHION_CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The folder holding Fashion-MNIST's IDX files, installing nothing system-wide; null with a reason printed. */
export function fashionMnistDir(): string | null {
  const system = '/usr/share/datasets/fashion-mnist';
  if (fs.existsSync(path.join(system, 'train-images-idx3-ubyte.gz'))) return system;
  const local = path.join(CACHE, 'debian', 'usr', 'share', 'datasets', 'fashion-mnist');
  if (fs.existsSync(path.join(local, 'train-images-idx3-ubyte.gz'))) return local;
  const work = path.join(CACHE, 'debian');
  fs.mkdirSync(work, { recursive: true });
  console.log('Fetching Fashion-MNIST (Debian dataset-fashion-mnist, 31 MB)…');
  const dl = spawnSync('apt-get', ['download', 'dataset-fashion-mnist'], { cwd: work, encoding: 'utf8' });
  const deb = fs.readdirSync(work).find((f) => f.startsWith('dataset-fashion-mnist') && f.endsWith('.deb'));
  if (dl.status !== 0 || !deb) {
    console.log(`  Fashion-MNIST unavailable: ${(dl.stderr || dl.error?.message || 'apt-get download failed').trim().split('\n').at(-1)}`);
    return null;
  }
  const x = spawnSync('dpkg', ['-x', deb, '.'], { cwd: work, encoding: 'utf8' });
  if (x.status !== 0 || !fs.existsSync(local)) {
    console.log(`  Fashion-MNIST unpack failed: ${x.stderr.trim()}`);
    return null;
  }
  return local;
}

/** IDX files (LeCun's format): big-endian magic, dims, then raw uint8 data. */
function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const ndim = buf[3]!;
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * ndim, dims.reduce((a, b) => a * b, 1)) };
}

async function writeFashionFolder(out: string, trainCount: number, testCount: number): Promise<boolean> {
  const dir = fashionMnistDir();
  if (!dir) return false;
  for (const [part, count] of [['train', trainCount], ['t10k', testCount]] as const) {
    const images = readIdx(path.join(dir, `${part}-images-idx3-ubyte.gz`));
    const labels = readIdx(path.join(dir, `${part}-labels-idx1-ubyte.gz`));
    const [, h, w] = images.dims as [number, number, number];
    const split = part === 'train' ? 'train' : 'test';
    for (let i = 0; i < count; i++) {
      const cls = FASHION_CLASSES[labels.data[i]!]!;
      const folder = path.join(out, cls);
      fs.mkdirSync(folder, { recursive: true });
      const px = Buffer.from(images.data.subarray(i * h * w, (i + 1) * h * w));
      await sharp(px, { raw: { width: w, height: h, channels: 1 } }).png().toFile(path.join(folder, `${split}-${String(i).padStart(5, '0')}.png`));
    }
  }
  return true;
}

interface EmojiEntry { image: string; category: string; has_img_google?: boolean; skin_variations?: Record<string, { image: string; has_img_google?: boolean }> }

function writeEmojiFolder(out: string): boolean {
  const pkg = emojiPackageDir();
  if (!pkg) {
    console.log('  emoji set unavailable: emoji-datasource-google is not installed (npm ci installs it).');
    return false;
  }
  const entries = JSON.parse(fs.readFileSync(path.join(pkg, 'emoji.json'), 'utf8')) as EmojiEntry[];
  for (const e of entries) {
    if (e.category === 'Component') continue;
    // One base emoji and its skin-tone variants share a split (a fifth of the bases are held out).
    const held = crypto.createHash('sha1').update(e.image).digest()[0]! % 5 === 0;
    const variants = [e, ...Object.values(e.skin_variations ?? {})].filter((v) => v.has_img_google !== false);
    for (const v of variants) {
      const src = path.join(pkg, 'img', 'google', '64', v.image);
      if (!fs.existsSync(src)) continue;
      const folder = path.join(out, e.category);
      fs.mkdirSync(folder, { recursive: true });
      fs.copyFileSync(src, path.join(folder, `${held ? 'test' : 'train'}-${v.image}`));
    }
  }
  return true;
}

/**
 * Opens (creating on first use) the bench project of a set. `images` caps Fashion-MNIST
 * (4/5 from its training part, 1/5 from its test part); the emoji set is used whole (3,781).
 */
export async function openBenchSet(name: SetName, options: { images?: number } = {}): Promise<BenchSet | null> {
  const images = name === 'fashion-mnist' ? options.images ?? 5000 : 0;
  const dir = path.join(CACHE, name === 'fashion-mnist' ? `fashion-mnist-${images}` : 'emoji');
  const ready = path.join(dir, '.bench-ready');
  const userDir = path.join(CACHE, 'user');
  if (!fs.existsSync(ready)) {
    fs.rmSync(dir, { recursive: true, force: true });
    const folder = path.join(dir, 'source');
    const ok = name === 'fashion-mnist' ? await writeFashionFolder(folder, Math.round(images * 0.8), images - Math.round(images * 0.8)) : writeEmojiFolder(folder);
    if (!ok) return null;
    const host = new Host({ projectDir: dir, userDir, transport: 'http', create: true, autoResume: false });
    try {
      const { jobId, datasetId } = (await host.call('import.start', { folder, datasetName: name, labels: { kind: 'folders' } })) as { jobId: number; datasetId: number };
      const done = await host.jobs.waitFor(jobId);
      if (done.state !== 'done') throw new Error(`importing ${name} failed: ${done.error?.message ?? done.state}`);
      host.project.db.prepare(`UPDATE images SET split = CASE WHEN rel_path LIKE '%/test-%' THEN 'test' ELSE 'train' END WHERE dataset_id = ?`).run(datasetId);
    } finally {
      host.close();
    }
    fs.writeFileSync(ready, new Date().toISOString());
  }
  const host = new Host({ projectDir: dir, userDir, transport: 'http', create: false, autoResume: false });
  const row = host.project.db.prepare(`SELECT d.id AS id, COUNT(i.id) AS n FROM datasets d JOIN images i ON i.dataset_id = d.id AND i.status = 'ok' WHERE d.name = ? GROUP BY d.id`).get(name) as { id: number; n: number };
  const classes = (host.project.db.prepare('SELECT COUNT(*) AS n FROM classes WHERE dataset_id = ?').get(row.id) as { n: number }).n;
  return { name, host, dir, datasetId: row.id, images: row.n, classes, close: () => host.close() };
}
