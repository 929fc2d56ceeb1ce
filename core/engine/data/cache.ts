// The training cache: every usable image of a dataset decoded once (sharp, originals, scientific
// images through the dataset's display mapping), resized to a square of the run's resolution
// (cover-crop) and stored as 8-bit RGB rows in one file in the project. Batches are then positional
// reads of a few KB per image, so epochs cost no decoding and a million images need no RAM.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { asLoupeError, LoupeError } from '../../errors.ts';
import { openImage, renderScientific } from '../../images/decode.ts';
import { getDataset } from '../../store/datasets.ts';
import type { Project } from '../../store/project.ts';

export const CACHE_CHANNELS = 3;
/** Bumped when the pixels an image renders to change, so old caches are rebuilt (2: grey + alpha PNGs flattened, no longer two bands). */
const CACHE_VERSION = 2;

export interface CacheIndex {
  version: number;
  datasetId: number;
  size: number;
  channels: number;
  /** Image ids, one per row of the pixel file, in row order. */
  imageIds: number[];
  /** Images that could not be read when the cache was built, with the reason. */
  skipped: { id: number; reason: string }[];
  mean: number[];
  std: number[];
  /** SHA-256 over the (id, content hash) list of the images it was built from. */
  dataHash: string;
}

export interface TrainingCache extends CacheIndex {
  file: string;
}

interface SourceRow {
  id: number;
  path: string;
  hash: string;
}

function sources(project: Project, datasetId: number): SourceRow[] {
  return project.db
    .prepare("SELECT id, path, hash FROM images WHERE dataset_id = ? AND status = 'ok' ORDER BY id")
    .all(datasetId) as SourceRow[];
}

export function dataHashOf(rows: { id: number; hash: string }[]): string {
  const h = createHash('sha256');
  for (const r of rows) h.update(`${r.id}:${r.hash}\n`);
  return h.digest('hex');
}

const cacheDir = (project: Project) => path.join(project.dir, 'cache');
const baseName = (datasetId: number, size: number) => `dataset${datasetId}-${size}px`;

/** RGB bytes of one image at size×size. */
export async function renderTrainingPixels(file: string, size: number, display: Parameters<typeof renderScientific>[2]): Promise<Buffer> {
  const src = await openImage(await fs.promises.readFile(file));
  const base = src.info.scientific ? await renderScientific(src, Math.max(size * 2, 256), display) : src.pipeline().rotate();
  const { data, info } = await base
    .resize(size, size, { fit: 'cover' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return data;
  const out = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * info.channels + Math.min(c, info.channels - 1)]!;
  return out;
}

export interface CacheProgress {
  done: number;
  total: number;
}

/**
 * Returns the cache for (dataset, size), building or rebuilding it when the dataset changed.
 * Building writes to temporary files renamed into place at the end, so a crash never leaves a
 * half cache that looks complete.
 */
export async function ensureTrainingCache(project: Project, datasetId: number, size: number,
  options: { signal?: AbortSignal; onProgress?: (p: CacheProgress) => void; concurrency?: number } = {}): Promise<TrainingCache> {
  const rows = sources(project, datasetId);
  if (rows.length === 0) {
    throw new LoupeError('invalid-input', 'This dataset has no usable images to train on.', { hint: 'Import a folder of images first.' });
  }
  const dataHash = dataHashOf(rows);
  const dir = cacheDir(project);
  fs.mkdirSync(dir, { recursive: true });
  const name = baseName(datasetId, size);
  const indexFile = path.join(dir, `${name}.json`), pixelFile = path.join(dir, `${name}.u8`);
  try {
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as CacheIndex;
    const rowBytes = size * size * CACHE_CHANNELS;
    if (index.version === CACHE_VERSION && index.dataHash === dataHash && fs.statSync(pixelFile).size === index.imageIds.length * rowBytes) return { ...index, file: pixelFile };
  } catch {
    // missing or stale: build it
  }

  const display = getDataset(project.db, datasetId).settings.display;
  const rowBytes = size * size * CACHE_CHANNELS;
  const tmpPixels = `${pixelFile}.tmp`;
  const fd = fs.openSync(tmpPixels, 'w');
  const imageIds: number[] = [];
  const skipped: CacheIndex['skipped'] = [];
  const sum = new Float64Array(3), sumSq = new Float64Array(3);
  let next = 0, done = 0;
  try {
    // Decodes run concurrently (sharp works on libuv's pool); rows are written in completion order.
    const worker = async () => {
      while (next < rows.length) {
        if (options.signal?.aborted) throw options.signal.reason;
        const row = rows[next++]!;
        let pixels: Buffer | null = null;
        try {
          pixels = await renderTrainingPixels(row.path, size, display);
        } catch (err) {
          skipped.push({ id: row.id, reason: asLoupeError(err).message });
        }
        if (pixels) {
          fs.writeSync(fd, pixels, 0, rowBytes, imageIds.length * rowBytes);
          imageIds.push(row.id);
          for (let i = 0; i < pixels.length; i += 3) {
            for (let c = 0; c < 3; c++) {
              const v = pixels[i + c]! / 255;
              sum[c]! += v;
              sumSq[c]! += v * v;
            }
          }
        }
        done++;
        options.onProgress?.({ done, total: rows.length });
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmpPixels, { force: true });
    throw asLoupeError(err, dir);
  }
  fs.closeSync(fd);
  if (imageIds.length === 0) {
    fs.rmSync(tmpPixels, { force: true });
    throw new LoupeError('invalid-input', `None of the ${rows.length} images could be read for training (${skipped[0]?.reason}).`, {
      hint: 'Check that the original files are still where they were imported from.',
    });
  }
  const pixelsCount = imageIds.length * size * size;
  const mean = [...sum].map((s) => s / pixelsCount);
  const std = [...sumSq].map((s, c) => Math.sqrt(Math.max(1e-6, s / pixelsCount - mean[c]! ** 2)));
  const index: CacheIndex = { version: CACHE_VERSION, datasetId, size, channels: CACHE_CHANNELS, imageIds, skipped, mean, std, dataHash };
  try {
    fs.renameSync(tmpPixels, pixelFile);
    fs.writeFileSync(`${indexFile}.tmp`, JSON.stringify(index));
    fs.renameSync(`${indexFile}.tmp`, indexFile);
  } catch (err) {
    throw asLoupeError(err, dir);
  }
  return { ...index, file: pixelFile };
}

/** Random access to cached rows as float32 [0, 1] batches. */
export class CacheReader {
  private readonly fd: number;
  private readonly rowBytes: number;

  constructor(readonly cache: TrainingCache) {
    this.fd = fs.openSync(cache.file, 'r');
    this.rowBytes = cache.size * cache.size * cache.channels;
  }

  get length(): number {
    return this.cache.imageIds.length;
  }

  /** Raw bytes of the given rows, contiguous. */
  readRows(rows: number[]): Uint8Array {
    const out = Buffer.allocUnsafe(rows.length * this.rowBytes);
    rows.forEach((r, i) => {
      const n = fs.readSync(this.fd, out, i * this.rowBytes, this.rowBytes, r * this.rowBytes);
      if (n !== this.rowBytes) throw new LoupeError('io', 'The training cache is truncated.', { hint: 'Delete the project\'s cache folder; it is rebuilt on the next run.' });
    });
    return out;
  }

  batch(rows: number[]): tf.Tensor4D {
    const bytes = this.readRows(rows);
    const { size, channels } = this.cache;
    const values = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) values[i] = bytes[i]! / 255;
    return tf.tensor4d(values, [rows.length, size, size, channels]);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
