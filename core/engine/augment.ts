// Batched, seeded augmentations as tensor ops on the active backend (so they run on the GPU under
// webgpu). All per-image randomness is drawn in JS from a step-seeded Rng, then applied in a few
// whole-batch ops: random resized crop + flip is one cropAndResize with per-image boxes (a box with
// x1 > x2 samples mirrored), colour jitter and grayscale fold into one 3×3 colour matrix per image
// (saturation and hue as a scale and a rotation in YIQ space), then blur and solarise are blended
// in by per-image masks. Following SimCLR (Chen et al., 2020, appendix A) for the defaults.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng.ts';

export interface ViewSpec {
  /** Output side in pixels. */
  size: number;
  /** Area fraction range of the random crop. */
  scale: [number, number];
  ratio: [number, number];
  flip: number;
  /** Probability and strength s of colour jitter (brightness/contrast/saturation 0.8s, hue 0.2s). */
  colorJitter: { p: number; strength: number };
  grayscale: number;
  blur: number;
  solarize: number;
}

export const simclrView = (size: number): ViewSpec => ({
  size,
  scale: [size <= 64 ? 0.2 : 0.08, 1],
  ratio: [3 / 4, 4 / 3],
  flip: 0.5,
  colorJitter: { p: 0.8, strength: 0.5 },
  grayscale: 0.2,
  blur: size <= 64 ? 0 : 0.5,
  solarize: 0,
});

/** The deterministic view used for embeddings and kNN: the whole image, resized. */
export const centerView = (size: number): ViewSpec => ({
  size, scale: [1, 1], ratio: [1, 1], flip: 0, colorJitter: { p: 0, strength: 0 }, grayscale: 0, blur: 0, solarize: 0,
});

// NTSC YIQ transform and its inverse.
const RGB2YIQ = [0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312];
const YIQ2RGB = [1, 0.956, 0.621, 1, -0.272, -0.647, 1, -1.106, 1.703];

function mul3(a: number[], b: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i * 3 + j]! += a[i * 3 + k]! * b[k * 3 + j]!;
  return out;
}

/** Per-image colour matrix (row-major, applied as rgb_out = M · rgb_in) for saturation s, hue h (turns). */
function colourMatrix(saturation: number, hue: number, gray: boolean): number[] {
  const t = hue * 2 * Math.PI, c = Math.cos(t), s = Math.sin(t);
  const adjust = [1, 0, 0, 0, saturation * c, -saturation * s, 0, saturation * s, saturation * c];
  let m = mul3(YIQ2RGB, mul3(adjust, RGB2YIQ));
  if (gray) m = mul3([0.299, 0.587, 0.114, 0.299, 0.587, 0.114, 0.299, 0.587, 0.114], m);
  return m;
}

function cropBox(rng: Rng, spec: ViewSpec): [number, number, number, number] {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = rng.uniform(spec.scale[0], spec.scale[1]);
    const logRatio = rng.uniform(Math.log(spec.ratio[0]), Math.log(spec.ratio[1]));
    const ratio = Math.exp(logRatio);
    const w = Math.sqrt(area * ratio), h = Math.sqrt(area / ratio);
    if (w <= 1 && h <= 1) {
      const y = rng.uniform(0, 1 - h), x = rng.uniform(0, 1 - w);
      return [y, x, y + h, x + w];
    }
  }
  return [0, 0, 1, 1];
}

/** images: float32 in [0, 1], [n, h, w, c]. Returns [n, size, size, c] in [0, 1]. */
export function augmentBatch(images: tf.Tensor4D, spec: ViewSpec, rng: Rng): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, , , channels] = images.shape;
    const boxes: number[] = [];
    const brightness: number[] = [], contrast: number[] = [], matrices: number[] = [];
    const jitterOn: boolean[] = [], blurOn: number[] = [], solarizeOn: number[] = [];
    const st = spec.colorJitter.strength;
    for (let i = 0; i < n; i++) {
      const [y1, x1, y2, x2] = cropBox(rng, spec);
      const flip = rng.chance(spec.flip);
      boxes.push(y1, flip ? x2 : x1, y2, flip ? x1 : x2);
      const jitter = rng.chance(spec.colorJitter.p);
      jitterOn.push(jitter);
      brightness.push(jitter ? rng.uniform(1 - 0.8 * st, 1 + 0.8 * st) : 1);
      contrast.push(jitter ? rng.uniform(1 - 0.8 * st, 1 + 0.8 * st) : 1);
      const saturation = jitter ? rng.uniform(1 - 0.8 * st, 1 + 0.8 * st) : 1;
      const hue = jitter ? rng.uniform(-0.2 * st, 0.2 * st) : 0;
      const gray = rng.chance(spec.grayscale);
      matrices.push(...colourMatrix(saturation, hue, gray));
      blurOn.push(rng.chance(spec.blur) ? 1 : 0);
      solarizeOn.push(rng.chance(spec.solarize) ? 1 : 0);
    }
    const sigma = rng.uniform(0.1, 2.0);

    let x = tf.image.cropAndResize(images, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D,
      [spec.size, spec.size], 'bilinear') as tf.Tensor4D;

    if (jitterOn.some(Boolean)) {
      x = tf.mul(x, tf.tensor4d(brightness, [n, 1, 1, 1]));
      const gray = channels === 3 ? tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true) : x;
      const mean = tf.mean(gray, [1, 2, 3], true);
      x = tf.add(tf.mul(tf.sub(x, mean), tf.tensor4d(contrast, [n, 1, 1, 1])), mean);
    }
    if (channels === 3 && (jitterOn.some(Boolean) || spec.grayscale > 0)) {
      // [n, hw, 3] · Mᵀ per image.
      const flat = tf.reshape(x, [n, spec.size * spec.size, 3]);
      const m = tf.tensor3d(matrices, [n, 3, 3]);
      x = tf.reshape(tf.matMul(flat, m, false, true), [n, spec.size, spec.size, 3]);
    }
    x = tf.clipByValue(x, 0, 1);

    if (blurOn.some(Boolean)) {
      const radius = Math.max(1, Math.round(spec.size * 0.05));
      const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
      const total = taps.reduce((a, b) => a + b, 0);
      const k = tf.tensor1d(taps.map((t) => t / total));
      const horizontal = tf.tile(tf.reshape(k, [1, 2 * radius + 1, 1, 1]), [1, 1, channels, 1]) as tf.Tensor4D;
      const vertical = tf.tile(tf.reshape(k, [2 * radius + 1, 1, 1, 1]), [1, 1, channels, 1]) as tf.Tensor4D;
      const blurred = tf.depthwiseConv2d(tf.depthwiseConv2d(x, horizontal, 1, 'same'), vertical, 1, 'same');
      const mask = tf.tensor4d(blurOn, [n, 1, 1, 1]);
      x = tf.add(tf.mul(blurred, mask), tf.mul(x, tf.sub(1, mask)));
    }
    if (solarizeOn.some(Boolean)) {
      const solarized = tf.where(tf.greaterEqual(x, 0.5), tf.sub(1, x), x);
      const mask = tf.tensor4d(solarizeOn, [n, 1, 1, 1]);
      x = tf.add(tf.mul(solarized, mask), tf.mul(x, tf.sub(1, mask)));
    }
    return x;
  });
}

/** (x − mean) / std per channel. */
export function normalize(x: tf.Tensor4D, mean: number[], std: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(mean)), tf.tensor1d(std)));
}
