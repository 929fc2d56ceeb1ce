// ResNet-18 layout (He et al., 2016: four stages of two basic blocks) with a width multiplier.
// Inputs up to 64 px use the CIFAR stem (3×3 conv, stride 1, no max-pool); larger ones the
// ImageNet stem (7×7 conv, stride 2, 3×3 max-pool). width 1 is torchvision's ResNet-18 (512-d
// features); width 0.25 is the narrow variant that trains at interactive speed on a CPU.
import * as tf from '@tensorflow/tfjs';
import { addRelu, globalAvgPool, maxPool } from '../ops.ts';
import type { Rng } from '../rng.ts';
import { batchNorm, conv2d } from './layers.ts';
import type { ForwardMode, Params } from './params.ts';

export interface EncoderConfig {
  arch: 'resnet18';
  width: number;
  inputSize: number;
  inChannels: number;
}

export interface Encoder {
  config: EncoderConfig;
  featureDim: number;
  /** [n, size, size, channels] in normalised units → [n, featureDim]. */
  apply(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor2D;
}

export function stemFor(inputSize: number): 'cifar' | 'imagenet' {
  return inputSize <= 64 ? 'cifar' : 'imagenet';
}

export function stageWidths(width: number): number[] {
  return [64, 128, 256, 512].map((c) => Math.max(8, Math.round(c * width)));
}

export function createResNet(params: Params, rng: Rng, config: EncoderConfig, prefix = 'encoder'): Encoder {
  const widths = stageWidths(config.width);
  const stem = stemFor(config.inputSize);
  const p = (s: string) => `${prefix}/${s}`;
  const stemConv = stem === 'cifar'
    ? conv2d(params, rng, p('stem/conv'), 3, config.inChannels, widths[0]!, 1, 1)
    : conv2d(params, rng, p('stem/conv'), 7, config.inChannels, widths[0]!, 2, 3);
  const stemBn = batchNorm(params, p('stem/bn'), widths[0]!);

  type Block = (x: tf.Tensor4D, mode: ForwardMode) => tf.Tensor4D;
  const blocks: Block[] = [];
  let cin = widths[0]!;
  widths.forEach((cout, stage) => {
    for (let b = 0; b < 2; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = p(`stage${stage + 1}/block${b}`);
      const conv1 = conv2d(params, rng, `${name}/conv1`, 3, cin, cout, stride, 1);
      const bn1 = batchNorm(params, `${name}/bn1`, cout);
      const conv2 = conv2d(params, rng, `${name}/conv2`, 3, cout, cout, 1, 1);
      const bn2 = batchNorm(params, `${name}/bn2`, cout);
      const project = stride !== 1 || cin !== cout;
      const shortConv = project ? conv2d(params, rng, `${name}/shortcut/conv`, 1, cin, cout, stride, 0) : null;
      const shortBn = project ? batchNorm(params, `${name}/shortcut/bn`, cout) : null;
      blocks.push((x, mode) => {
        const h = bn2(conv2(bn1(conv1(x), mode, true)), mode, false);
        const s = shortConv && shortBn ? shortBn(shortConv(x), mode, false) : x;
        return addRelu(h, s);
      });
      cin = cout;
    }
  });

  return {
    config,
    featureDim: cin,
    apply(x, mode) {
      let h = stemBn(stemConv(x), mode, true);
      if (stem === 'imagenet') h = maxPool(h, 3, 2, 1);
      for (const block of blocks) h = block(h, mode);
      return globalAvgPool(h);
    },
  };
}
