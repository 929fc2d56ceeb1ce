// Checkpoints and exported encoders in TensorFlow.js's weights format: a model.json whose
// weightsManifest names each tensor (name, shape, dtype) and one weights.bin of little-endian
// float32 values, so tf.io can read them and other tools can too. Loupe's own facts (method,
// hyper-parameters, step, backend, data hash) ride in `userDefinedMetadata`.
//
// Writes are atomic: a checkpoint is written into a temporary folder, fsync'd, then renamed, so
// a crash or a full disk never leaves a checkpoint that looks complete but is not.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { asLoupeError, LoupeError } from '../errors.ts';

export interface WeightsFile<M> {
  tensors: Map<string, tf.Tensor>;
  metadata: M;
}

interface ModelJson<M> {
  format: string;
  generatedBy: string;
  convertedBy: null;
  modelTopology: null;
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
  userDefinedMetadata: M;
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function writeWeights<M>(dir: string, format: string, tensors: [string, tf.Tensor][], metadata: M): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const total = tensors.reduce((s, [, t]) => s + t.size, 0);
    const data = new Float32Array(total);
    let offset = 0;
    const weights: { name: string; shape: number[]; dtype: 'float32' }[] = [];
    for (const [name, t] of tensors) {
      data.set((await t.data()) as Float32Array, offset);
      offset += t.size;
      weights.push({ name, shape: t.shape, dtype: 'float32' });
    }
    fs.writeFileSync(path.join(tmp, 'weights.bin'), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const json: ModelJson<M> = {
      format, generatedBy: 'Loupe', convertedBy: null, modelTopology: null,
      weightsManifest: [{ paths: ['weights.bin'], weights }], userDefinedMetadata: metadata,
    };
    fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json, null, 1));
    fsyncFile(path.join(tmp, 'weights.bin'));
    fsyncFile(path.join(tmp, 'model.json'));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw asLoupeError(err, path.dirname(dir));
  }
}

/** The saved tensors as plain arrays (no tfjs backend needed: exporters read these). */
export function readWeightArrays<M>(dir: string): { arrays: Map<string, { shape: number[]; values: Float32Array }>; metadata: M } {
  let json: ModelJson<M>;
  let bin: Buffer;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelJson<M>;
    bin = fs.readFileSync(path.join(dir, json.weightsManifest[0]!.paths[0]!));
  } catch (err) {
    throw new LoupeError('not-found', `Cannot read the model at ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const specs = json.weightsManifest[0]!.weights;
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  if (bin.length !== expected * 4) {
    throw new LoupeError('invalid-input', `The model at ${dir} is damaged (weights.bin has ${bin.length} bytes, expected ${expected * 4}).`, {
      hint: 'Resume from an earlier checkpoint or start the run again.',
    });
  }
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
  const arrays = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const w of specs) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    arrays.set(w.name, { shape: w.shape, values: all.subarray(offset, offset + n) });
    offset += n;
  }
  return { arrays, metadata: json.userDefinedMetadata };
}

export function readWeights<M>(dir: string): WeightsFile<M> {
  const { arrays, metadata } = readWeightArrays<M>(dir);
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, a] of arrays) tensors.set(name, tf.tensor(a.values.slice(), a.shape, 'float32')); // own copy: kernels update weights in place
  return { tensors, metadata };
}
