// NumPy .npy (format 1.0): a magic string, a Python-dict header padded to 64 bytes, then raw
// little-endian data. numpy.load reads it without any other file. Written by hand: the format is
// a 10-line specification and no npm library adds anything for float32 matrices.
import fs from 'node:fs';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);

function header(descr: string, shape: number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = MAGIC.length + 2 + dict.length + 1;
  const text = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(text.length);
  return Buffer.concat([MAGIC, len, Buffer.from(text, 'latin1')]);
}

export function writeNpy(file: string, data: Float32Array | Int32Array | Int8Array, shape: number[]): void {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`shape ${shape} does not hold ${data.length} values`);
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : '|i1';
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, header(descr, shape));
    fs.writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readNpy(file: string): { descr: string; shape: number[]; data: Float32Array | Int32Array | Int8Array } {
  const buf = fs.readFileSync(file);
  if (!buf.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error(`${file} is not a .npy file`);
  const len = buf.readUInt16LE(8);
  const text = buf.subarray(10, 10 + len).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1] ?? '';
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(text)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(10 + len);
  const copy = body.buffer.slice(body.byteOffset, body.byteOffset + body.length);
  const data = descr === '<f4' ? new Float32Array(copy) : descr === '<i4' ? new Int32Array(copy) : new Int8Array(copy);
  return { descr, shape, data };
}
