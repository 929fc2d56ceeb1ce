// Layer builders over Params: each creates its parameters once (seeded) and returns the function
// that applies it. Initialisation follows torchvision's ResNet (Kaiming-normal, fan-out, for convs;
// BN γ = 1, β = 0) and PyTorch's Linear default (uniform ±1/√fan-in), so the PyTorch reference in
// bench/ trains the same network.
import * as tf from '@tensorflow/tfjs';
import { batchNormInfer, batchNormTrain } from '../ops.ts';
import type { Rng } from '../rng.ts';
import type { ForwardMode, Params } from './params.ts';

export function conv2d(params: Params, rng: Rng, name: string, k: number, cin: number, cout: number, stride: number, pad: number | 'same' | 'valid') {
  const std = Math.sqrt(2 / (k * k * cout));
  const kernel = params.add(`${name}/kernel`, tf.randomNormal([k, k, cin, cout], 0, std, 'float32', rng.seed()));
  const padding = typeof pad === 'number' ? ([[0, 0], [pad, pad], [pad, pad], [0, 0]] as [number, number][]) : pad;
  return (x: tf.Tensor4D) => tf.conv2d(x, kernel as tf.Tensor4D, stride, padding as 'same');
}

export function batchNorm(params: Params, name: string, channels: number) {
  const gamma = params.add(`${name}/gamma`, tf.ones([channels])) as tf.Variable<tf.Rank.R1>;
  const beta = params.add(`${name}/beta`, tf.zeros([channels])) as tf.Variable<tf.Rank.R1>;
  const mean = params.add(`${name}/running_mean`, tf.zeros([channels]), false) as tf.Variable<tf.Rank.R1>;
  const variance = params.add(`${name}/running_var`, tf.ones([channels]), false) as tf.Variable<tf.Rank.R1>;
  return <T extends tf.Tensor>(x: T, mode: ForwardMode, relu: boolean): T => {
    if (!mode.training) return batchNormInfer(x, gamma, beta, mean, variance, relu) as T;
    const { y, stats } = batchNormTrain(x as unknown as tf.Tensor4D, gamma, beta, relu);
    mode.stats?.record(name, stats.mean, stats.variance, x.size / channels);
    return y as T;
  };
}

export function dense(params: Params, rng: Rng, name: string, cin: number, cout: number, bias = true) {
  const bound = 1 / Math.sqrt(cin);
  const kernel = params.add(`${name}/kernel`, tf.randomUniform([cin, cout], -bound, bound, 'float32', rng.seed())) as tf.Variable<tf.Rank.R2>;
  const b = bias ? (params.add(`${name}/bias`, tf.randomUniform([cout], -bound, bound, 'float32', rng.seed())) as tf.Variable<tf.Rank.R1>) : null;
  return (x: tf.Tensor2D): tf.Tensor2D => (b ? tf.add(tf.matMul(x, kernel), b) : tf.matMul(x, kernel));
}

/**
 * Linear → BN → ReLU, repeated, then a final Linear: the projector / predictor MLP of SSL methods.
 * `batchNorm: false` gives Linear (with bias) → ReLU hidden layers instead, as in DINO's head.
 */
export function mlp(params: Params, rng: Rng, name: string, sizes: number[], { lastBatchNorm = false, batchNorm: hiddenBatchNorm = true } = {}) {
  const layers: ((x: tf.Tensor2D, mode: ForwardMode) => tf.Tensor2D)[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const last = i + 2 === sizes.length;
    const normed = last ? lastBatchNorm : hiddenBatchNorm;
    const fc = dense(params, rng, `${name}/fc${i}`, sizes[i]!, sizes[i + 1]!, last || !normed);
    const bn = normed ? batchNorm(params, `${name}/bn${i}`, sizes[i + 1]!) : null;
    layers.push((x, mode) => {
      const h = fc(x);
      if (bn) return bn(h, mode, !last);
      return last ? h : tf.relu(h);
    });
  }
  return (x: tf.Tensor2D, mode: ForwardMode) => layers.reduce((h, layer) => layer(h, mode), x);
}
