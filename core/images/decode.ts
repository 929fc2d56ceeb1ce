import sharp from 'sharp';
import { LoupeError } from '../errors.ts';
import type { DisplaySettings } from '../store/datasets.ts';
import { decodeBmp, isBmp } from './bmp.ts';

/** libvips' default guard (16383²): beyond it an image is refused before any pixel is decoded. */
export const MAX_PIXELS = 16383 * 16383;

const depthBits: Record<string, number> = { uchar: 8, char: 8, ushort: 16, short: 16, uint: 32, int: 32, float: 32, double: 64, complex: 64, dpcomplex: 128 };

export interface ImageInfo {
  format: string;
  /** Width and height as displayed, after EXIF orientation. */
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  /** Needs per-channel stretching to be seen (16-bit, float, or not 1/3/4 channels nor grey + alpha). */
  scientific: boolean;
  /** Its header declares a transparency band (an RGBA or grey + alpha PNG, a 32-bit BMP with an alpha mask). */
  hasAlpha: boolean;
}

/** A decodable image held in memory: its facts and a way to start a sharp pipeline on it. */
export interface SourceImage {
  info: ImageInfo;
  pipeline(): sharp.Sharp;
  /** The encoded bytes, kept to explain decode failures. */
  data?: Buffer;
}

const sharpOptions = { failOn: 'error', limitInputPixels: MAX_PIXELS } as const;

/**
 * Two bands that are grey + alpha by the format's definition (a PNG of colour type 4, such as
 * many emoji and icons): drawn and trained on as an ordinary image with transparency. A 2-band
 * TIFF stays scientific — there the second band is usually a second measurement, not alpha.
 * SCIENTIFIC_SQL (core/store/datasets.ts) is the same rule over the images table.
 */
const greyAlpha = (meta: sharp.Metadata) => meta.channels === 2 && meta.hasAlpha === true && ['png', 'webp', 'gif', 'heif'].includes(meta.format ?? '');

/** Whether a JPEG or PNG lacks its end marker: the usual sign of an interrupted copy or download. */
export function lacksEndMarker(buf: Buffer): boolean {
  const tail = buf.subarray(Math.max(0, buf.length - 64));
  if (buf[0] === 0xff && buf[1] === 0xd8) return !tail.includes(Buffer.from([0xff, 0xd9]));
  if (buf.subarray(1, 4).toString('latin1') === 'PNG') return !tail.includes(Buffer.from('IEND', 'latin1'));
  return false;
}

/**
 * Rewrites libvips' messages into what a person can act on. libvips' message can be lost under
 * concurrency ("Unknown error"), so a missing end marker is checked on the bytes themselves.
 */
export function explainDecodeError(err: unknown, data?: Buffer): LoupeError {
  if (err instanceof LoupeError) return err;
  if (data && lacksEndMarker(data)) return new LoupeError('invalid-input', 'The file is truncated (its end is missing): copy it again from the source.', { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) {
    return new LoupeError('invalid-input', 'Not a readable image: the content matches no known image format (wrong extension or corrupt file).', { cause: err });
  }
  if (/hevc|unsupported codec|compression format has not been built/i.test(msg)) {
    return new LoupeError('unsupported', 'HEIC photos compressed with HEVC cannot be decoded by this build.', { hint: 'Export them as JPEG or PNG (e.g. from Photos or Preview), then import again.', cause: err });
  }
  if (/pixel limit/i.test(msg)) return new LoupeError('invalid-input', 'Image too large to decode safely (over 268 megapixels).', { cause: err });
  if (/premature end|truncated|unexpected end|read error|not enough data|short read|incomplete|eof/i.test(msg)) {
    return new LoupeError('invalid-input', `The file is truncated or corrupt (${msg.split('\n')[0]}).`, { cause: err });
  }
  return new LoupeError('invalid-input', `Could not decode the image: ${msg.split('\n')[0]}`, { cause: err });
}

export async function openImage(buf: Buffer): Promise<SourceImage> {
  if (buf.length === 0) throw new LoupeError('invalid-input', 'Empty file (0 bytes).');
  if (isBmp(buf)) {
    const raw = decodeBmp(buf);
    return {
      info: { format: 'bmp', width: raw.width, height: raw.height, channels: raw.channels, bitDepth: 8, scientific: false, hasAlpha: raw.channels === 4 },
      pipeline: () => sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } }),
    };
  }
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf, { ...sharpOptions, limitInputPixels: false }).metadata();
  } catch (err) {
    throw explainDecodeError(err, buf);
  }
  const { width = 0, height = 0 } = meta;
  if (!width || !height) throw new LoupeError('invalid-input', 'Not a readable image: no size in its header.');
  if (width * height > MAX_PIXELS) {
    throw new LoupeError('invalid-input', `Image too large: ${width}×${height} px (${Math.round((width * height) / 1e6)} megapixels; the limit is ${Math.round(MAX_PIXELS / 1e6)}).`, {
      hint: 'Tile or downscale it before importing.',
    });
  }
  const swap = (meta.orientation ?? 1) >= 5;
  const channels = meta.channels ?? 3;
  const bitDepth = depthBits[meta.depth ?? 'uchar'] ?? 8;
  return {
    info: {
      format: meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heic') : (meta.format ?? 'unknown'),
      width: swap ? height : width,
      height: swap ? width : height,
      channels,
      bitDepth,
      scientific: bitDepth > 8 || !([1, 3, 4].includes(channels) || greyAlpha(meta)),
      hasAlpha: meta.hasAlpha === true,
    },
    pipeline: () => sharp(buf, sharpOptions),
    data: buf,
  };
}

/** Percentile of a sample (sorted copy); `p` in 0..100. */
function percentile(sorted: Float32Array, p: number): number {
  if (!sorted.length) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[idx]!;
}

/**
 * Renders a scientific image (16-bit, float, many channels) for display: the full-depth pixels
 * are read in their own colour space (no 8-bit conversion, no band mistaken for alpha), the
 * chosen channels are box-averaged down to `maxSize`, stretched between per-channel percentiles
 * and packed into 8-bit RGB. The original file stays untouched for training.
 */
export async function renderScientific(src: SourceImage, maxSize: number, display: DisplaySettings): Promise<sharp.Sharp> {
  const space = src.info.channels <= 2 ? 'grey16' : 'rgb16';
  let pipeline = src.pipeline().pipelineColourspace(space).toColourspace(space);
  // Up to 4 bands libvips resizes while streaming (memory stays small); beyond 4 it would treat
  // band 4 as alpha, so those images are read whole and box-filtered below.
  if (src.info.channels <= 4) pipeline = pipeline.rotate().resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true });
  const { data, info } = await pipeline.raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
  const px = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  const { width: w, height: h, channels } = info;
  const map: (number | null)[] = channels === 1 ? [0, 0, 0] : channels === 2 ? [0, 1, null] : display.channelMap.map((c) => (c !== null && c < channels ? c : null));
  const scale = Math.min(1, maxSize / Math.max(w, h));
  const ow = Math.max(1, Math.round(w * scale));
  const oh = Math.max(1, Math.round(h * scale));
  const out = Buffer.alloc(ow * oh * 3);
  const [lo, hi] = display.percentiles;
  for (let k = 0; k < 3; k++) {
    const c = map[k];
    if (c === null || c === undefined) continue;
    const plane = new Float32Array(ow * oh);
    for (let y = 0; y < oh; y++) {
      const y0 = Math.floor((y * h) / oh);
      const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * h) / oh));
      for (let x = 0; x < ow; x++) {
        const x0 = Math.floor((x * w) / ow);
        const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * w) / ow));
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += px[(yy * w + xx) * channels + c]!;
        plane[y * ow + x] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
    const sorted = Float32Array.from(plane.filter(Number.isFinite)).sort();
    const a = percentile(sorted, lo);
    const b = percentile(sorted, hi);
    const gain = b > a ? 255 / (b - a) : 0;
    for (let i = 0; i < ow * oh; i++) out[i * 3 + k] = Math.max(0, Math.min(255, Math.round((plane[i]! - a) * gain)));
  }
  return sharp(out, { raw: { width: ow, height: oh, channels: 3 } });
}

/** An 8-bit display rendition no larger than `maxSize`, EXIF orientation applied. */
export async function renderDisplay(src: SourceImage, maxSize: number, display: DisplaySettings, format: 'webp' | 'jpeg', quality = format === 'webp' ? 80 : 88): Promise<Buffer> {
  try {
    const img = src.info.scientific
      ? await renderScientific(src, maxSize, display)
      : src.pipeline().rotate().resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true });
    return format === 'webp' ? await img.webp({ quality, effort: 2 }).toBuffer() : await img.jpeg({ quality }).toBuffer();
  } catch (err) {
    throw explainDecodeError(err, src.data);
  }
}
