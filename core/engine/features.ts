// Encoder features for a set of cache rows: the centred, un-augmented view through the encoder in
// inference mode (running BN statistics), in batches.
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, centerView, normalize } from './augment.ts';
import type { CacheReader } from './data/cache.ts';
import type { Encoder } from './nn/resnet.ts';
import { Rng } from './rng.ts';

export async function encodeRows(encoder: Encoder, reader: CacheReader, rows: number[],
  options: { batchSize?: number; signal?: AbortSignal; onBatch?: (done: number) => void } = {}): Promise<Float32Array> {
  const dim = encoder.featureDim, batchSize = options.batchSize ?? 256;
  const out = new Float32Array(rows.length * dim);
  const { size } = reader.cache;
  const view = centerView(encoder.config.inputSize);
  for (let start = 0; start < rows.length; start += batchSize) {
    if (options.signal?.aborted) throw options.signal.reason;
    const chunk = rows.slice(start, start + batchSize);
    const features = tf.tidy(() => {
      const x = reader.batch(chunk);
      const input = size !== encoder.config.inputSize ? augmentBatch(x, view, new Rng(0), reader.cache) : normalize(x, reader.cache);
      return encoder.apply(input, { training: false });
    });
    out.set(await features.data() as Float32Array, start * dim);
    features.dispose();
    options.onBatch?.(start + chunk.length);
    await new Promise((r) => setImmediate(r));
  }
  return out;
}
