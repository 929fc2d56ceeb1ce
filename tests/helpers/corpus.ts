/**
 * Builds a real corpus of image files on disk for import tests: every supported format encoded
 * by a real codec, scientific TIFFs, and the bad files users actually have (corrupt, truncated,
 * empty, wrong extension, huge, odd names). Nothing is mocked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `loupe-${prefix}-`));
}

/** A colourful, image-specific picture: gradient + a disc whose place depends on `seed`. */
export function photo(width: number, height: number, seed: number): sharp.Sharp {
  const px = Buffer.alloc(width * height * 3);
  const cx = ((seed * 37) % width) | 0;
  const cy = ((seed * 53) % height) | 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < (Math.min(width, height) / 4) ** 2;
      px[o] = inDisc ? 250 : (x * 255) / width;
      px[o + 1] = inDisc ? (seed * 41) % 256 : (y * 255) / height;
      px[o + 2] = (seed * 97 + x + y) % 256;
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

/** A baseline little-endian TIFF with any number of 8/16-bit samples per pixel (sharp writes at most 4). */
export function writeTiff(width: number, height: number, channels: number, bits: 8 | 16, data: Uint8Array | Uint16Array): Buffer {
  const imageBytes = width * height * channels * (bits / 8);
  const extras = Math.max(0, channels - 3);
  const count = extras ? 11 : 10;
  const ifd = 8 + imageBytes;
  const tail = ifd + 2 + count * 12 + 4;
  const buf = Buffer.alloc(tail + channels * 2 + extras * 2);
  buf.write('II', 0);
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(ifd, 4);
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(buf, 8);
  let p = ifd + 2;
  buf.writeUInt16LE(count, ifd);
  const entry = (tag: number, type: 3 | 4, n: number, values: number[], spill: number) => {
    buf.writeUInt16LE(tag, p);
    buf.writeUInt16LE(type, p + 2);
    buf.writeUInt32LE(n, p + 4);
    const size = type === 3 ? 2 : 4;
    if (n * size <= 4) values.forEach((v, i) => (type === 3 ? buf.writeUInt16LE(v, p + 8 + i * 2) : buf.writeUInt32LE(v, p + 8)));
    else {
      values.forEach((v, i) => buf.writeUInt16LE(v, spill + i * 2));
      buf.writeUInt32LE(spill, p + 8);
    }
    p += 12;
  };
  entry(256, 4, 1, [width], 0);
  entry(257, 4, 1, [height], 0);
  entry(258, 3, channels, Array(channels).fill(bits), tail);
  entry(259, 3, 1, [1], 0);
  entry(262, 3, 1, [channels >= 3 ? 2 : 1], 0);
  entry(273, 4, 1, [8], 0);
  entry(277, 3, 1, [channels], 0);
  entry(278, 4, 1, [height], 0);
  entry(279, 4, 1, [imageBytes], 0);
  entry(284, 3, 1, [1], 0);
  if (extras) entry(338, 3, extras, Array(extras).fill(0), tail + channels * 2);
  buf.writeUInt32LE(0, p);
  return buf;
}

/** An uncompressed 24-bit BMP. */
export function writeBmp(width: number, height: number, rgb: Buffer): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + stride * height);
  buf.write('BM', 0);
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const d = 54 + (height - 1 - y) * stride + x * 3;
      buf[d] = rgb[s + 2]!;
      buf[d + 1] = rgb[s + 1]!;
      buf[d + 2] = rgb[s]!;
    }
  }
  return buf;
}

/** A PNG whose header claims 20000×20000 pixels: refused from the header, never decoded. */
export async function hugePngHeader(): Promise<Buffer> {
  const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).png().toBuffer();
  const out = Buffer.from(small);
  out.writeUInt32BE(20000, 16);
  out.writeUInt32BE(20000, 20);
  // Fix the IHDR CRC so the file is well-formed apart from its (real) size claim.
  const { crc32 } = await import('node:zlib');
  out.writeUInt32BE(crc32(out.subarray(12, 29)) >>> 0, 29);
  return out;
}

export interface Corpus {
  root: string;
  good: string[];
  bad: Record<string, string>;
  duplicates: string[];
  unsupported: string[];
  ignored: string[];
}

/** Writes the corpus under `root`, in class sub-folders `cats/` and `dogs/`. */
export async function buildCorpus(root: string): Promise<Corpus> {
  const good: string[] = [];
  const put = async (rel: string, data: Buffer | Promise<Buffer>) => {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, await data);
    return rel;
  };
  good.push(await put('cats/a.jpg', photo(120, 80, 1).jpeg().toBuffer()));
  good.push(await put('cats/b.png', photo(90, 90, 2).png().toBuffer()));
  good.push(await put('cats/c.webp', photo(100, 60, 3).webp().toBuffer()));
  good.push(await put('cats/d.tiff', photo(64, 64, 4).tiff().toBuffer()));
  good.push(await put('cats/e.gif', photo(50, 40, 5).gif().toBuffer()));
  good.push(await put('cats/f.avif', photo(64, 48, 6).avif({ effort: 0 }).toBuffer()));
  const bmpPixels = await photo(33, 21, 7).raw().toBuffer();
  good.push(await put('dogs/g.bmp', writeBmp(33, 21, bmpPixels)));
  // EXIF orientation 6 (rotate 90° clockwise to display): stored 120×80, shown 80×120.
  good.push(await put('dogs/rotated.jpg', photo(120, 80, 8).jpeg().withMetadata({ orientation: 6 }).toBuffer()));
  // Odd names: spaces, unicode, a very long name.
  good.push(await put('dogs/with spaces & (1).png', photo(40, 40, 9).png().toBuffer()));
  good.push(await put('dogs/日本語-ümlaut-émoji🙂.jpg', photo(40, 40, 10).jpeg().toBuffer()));
  good.push(await put(`dogs/${'long-name-'.repeat(22)}.png`, photo(40, 40, 11).png().toBuffer()));
  // A PNG saved with a .jpg extension is still a good image.
  good.push(await put('dogs/really-a-png.jpg', photo(30, 30, 12).png().toBuffer()));
  // Scientific: 16-bit single channel and 16-bit five-channel TIFFs with 12-bit data.
  const g16 = new Uint16Array(64 * 48).map((_, i) => (i % 64) * 60 + 200);
  good.push(await put('micro/gray16.tif', writeTiff(64, 48, 1, 16, g16)));
  const m5 = new Uint16Array(40 * 30 * 5).map((_, i) => ((i % 5) + 1) * 500 + ((i / 5) % 40) * 10);
  good.push(await put('micro/five-channel.tif', writeTiff(40, 30, 5, 16, m5)));

  const jpeg = await photo(200, 150, 13).jpeg().toBuffer();
  const bad: Record<string, string> = {
    [await put('bad/truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)))]: 'truncated',
    [await put('bad/empty.png', Buffer.alloc(0))]: 'empty',
    [await put('bad/text.jpg', Buffer.from('this is not an image\n'))]: 'not a readable image',
    [await put('bad/garbage.png', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256)))]: 'not a readable image',
    [await put('bad/huge.png', hugePngHeader())]: 'too large',
  };
  const duplicates = [await put('dogs/copy-of-a.jpg', fs.readFileSync(path.join(root, 'cats/a.jpg')))];
  const unsupported = [await put('bad/scan.dcm', Buffer.from('DICM'))];
  const ignored = [await put('notes.txt', Buffer.from('hello')), await put('.hidden.png', photo(10, 10, 1).png().toBuffer())];
  return { root, good, bad, duplicates, unsupported, ignored };
}
