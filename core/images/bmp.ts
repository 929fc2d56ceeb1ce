import { LoupeError } from '../errors.ts';

/**
 * A small reader for uncompressed Windows bitmaps (1/4/8-bit palette, 16/24/32-bit, BI_BITFIELDS).
 * Written by hand because the prebuilt libvips in sharp has no BMP loader, and instrument and
 * inspection software still exports BMP. RLE-compressed files are refused with a clear reason.
 */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export function isBmp(buf: Buffer): boolean {
  return buf.length >= 26 && buf[0] === 0x42 && buf[1] === 0x4d;
}

function bad(reason: string): never {
  throw new LoupeError('invalid-input', `Corrupt BMP: ${reason}.`);
}

function maskShift(mask: number): { shift: number; max: number } {
  if (!mask) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

export function decodeBmp(buf: Buffer): RawPixels {
  if (!isBmp(buf)) bad('missing BM signature');
  if (buf.length < 54) bad('file is truncated');
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const bpp = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) bad(`invalid size ${width}×${rawHeight}`);
  if (compression !== 0 && compression !== 3 && compression !== 6) {
    throw new LoupeError('unsupported', 'Unsupported BMP compression (RLE). Convert it to PNG to import it.');
  }
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset + stride * height > buf.length) bad('file is truncated');

  let palette: number[][] = [];
  if (bpp <= 8) {
    const colors = buf.readUInt32LE(46) || 1 << bpp;
    const start = 14 + headerSize;
    palette = Array.from({ length: colors }, (_, i) => [buf[start + i * 4 + 2] ?? 0, buf[start + i * 4 + 1] ?? 0, buf[start + i * 4] ?? 0]);
  }
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  if (compression === 3 || compression === 6) {
    masks = [buf.readUInt32LE(54), buf.readUInt32LE(58), buf.readUInt32LE(62), headerSize >= 56 || compression === 6 ? buf.readUInt32LE(66) : 0];
  }
  const hasAlpha = bpp === 32 && masks[3] !== 0;
  const channels = hasAlpha ? 4 : 3;
  const out = Buffer.alloc(width * height * channels);
  const shifts = masks.map(maskShift);

  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      let r = 0, g = 0, b = 0, a = 255;
      if (bpp <= 8) {
        const bitPos = x * bpp;
        const byte = buf[row + (bitPos >> 3)]!;
        const idx = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        const c = palette[idx] ?? [0, 0, 0];
        r = c[0]!; g = c[1]!; b = c[2]!;
      } else if (bpp === 24) {
        b = buf[row + x * 3]!; g = buf[row + x * 3 + 1]!; r = buf[row + x * 3 + 2]!;
      } else if (bpp === 16 || bpp === 32) {
        const v = bpp === 16 ? buf.readUInt16LE(row + x * 2) : buf.readUInt32LE(row + x * 4);
        const ch = shifts.map((s, i) => (s.max ? Math.round((((v & masks[i]!) >>> s.shift) * 255) / s.max) : 255));
        [r, g, b, a] = ch as [number, number, number, number];
      } else bad(`unsupported bit depth ${bpp}`);
      out[o] = r; out[o + 1] = g; out[o + 2] = b;
      if (hasAlpha) out[o + 3] = a;
    }
  }
  return { data: out, width, height, channels };
}
