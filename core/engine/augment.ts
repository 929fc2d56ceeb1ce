// Batched, seeded augmentations as tensor ops on the active backend (so they run on the GPU under
// webgpu). All per-image randomness is drawn in JS from a step-seeded Rng, then applied in a few
// whole-batch ops: random resized crop + flip is one cropAndResize with per-image boxes (a box with
// x1 > x2 samples mirrored), colour jitter and grayscale fold into one 3×3 colour matrix per image
// (saturation and hue as a scale and a rotation in YIQ space), then blur and solarise are blended
// in by per-image masks. Following SimCLR (Chen et al., 2020, appendix A) for the defaults.
import * as tf from '@tensorflow/tfjs';
import { colorAffine, cropResizeEach, gaussianBlur, globalAvgPool, solarizeNormalize } from './ops.ts';
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
  // The smallest crop keeps a side of ~20 px or more: at 32 px a 20% crop (14 px) rarely shows
  // what the whole image does, and short CPU runs learn slowest from such pairs (Fashion-MNIST,
  // 24k images, with the fast-CPU learning rates: the kNN of each method using these views rose
  // by +0.6 to +4.4 points; on the emoji set the change was neutral, −0.9 to +1.5).
  scale: [size <= 32 ? 0.4 : size <= 64 ? 0.2 : 0.08, 1],
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

export interface Normalization {
  mean: number[];
  std: number[];
}

/**
 * images: float32 in [0, 1], [n, h, w, c]. Returns [n, size, size, c], normalised per channel.
 * Brightness b, contrast k (around the image's grey mean μ) and the colour matrix M combine into
 * one affine map per image: M·(k·(b·x − μ) + μ) = k·b·M·x + (1 − k)·μ·M·1.
 */
export function augmentBatch(images: tf.Tensor4D, spec: ViewSpec, rng: Rng, norm: Normalization): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, , , channels] = images.shape;
    const boxes: number[] = [];
    const draws: { jitter: boolean; b: number; k: number; m: number[] | null }[] = [];
    const sigma = new Float32Array(n), solarize = new Float32Array(n);
    const st = spec.colorJitter.strength;
    for (let i = 0; i < n; i++) {
      const [y1, x1, y2, x2] = cropBox(rng, spec);
      const flip = rng.chance(spec.flip);
      boxes.push(y1, flip ? x2 : x1, y2, flip ? x1 : x2);
      const jitter = rng.chance(spec.colorJitter.p);
      const b = jitter ? rng.uniform(1 - 0.8 * st, 1 + 0.8 * st) : 1;
      const k = jitter ? rng.uniform(1 - 0.8 * st, 1 + 0.8 * st) : 1;
      const saturation = jitter ? rng.uniform(1 - 0.8 * st, 1 + 0.8 * st) : 1;
      const hue = jitter ? rng.uniform(-0.2 * st, 0.2 * st) : 0;
      const gray = rng.chance(spec.grayscale);
      draws.push({ jitter: jitter || gray, b, k, m: channels === 3 && (jitter || gray) ? colourMatrix(saturation, hue, gray) : null });
      const blurSigma = rng.uniform(0.1, 2.0);
      sigma[i] = rng.chance(spec.blur) ? blurSigma : 0;
      solarize[i] = rng.chance(spec.solarize) ? 1 : 0;
    }

    let x = cropResizeEach(images, tf.tensor2d(boxes, [n, 4]), [spec.size, spec.size]);

    if (draws.some((d) => d.jitter)) {
      // The grey mean μ stays on the device (no read-back, so GPU backends keep their pipeline):
      // t = (1 − k)·b·rowSum(M) · grey(mean pixel).
      const a = new Float32Array(n * channels * channels), coef = new Float32Array(n * channels);
      draws.forEach((d, i) => {
        for (let r = 0; r < channels; r++) {
          let rowSum = 0;
          for (let c = 0; c < channels; c++) {
            const mrc = d.m ? d.m[r * 3 + c]! : r === c ? 1 : 0;
            a[i * channels * channels + r * channels + c] = d.k * d.b * mrc;
            rowSum += mrc;
          }
          coef[i * channels + r] = (1 - d.k) * d.b * rowSum;
        }
      });
      const luma = channels === 3 ? [0.299, 0.587, 0.114] : new Array<number>(channels).fill(1 / channels);
      const grey = tf.matMul(globalAvgPool(x), tf.tensor2d(luma, [channels, 1])); // [n, 1]
      const t = tf.mul(tf.tensor2d(coef, [n, channels]), grey) as tf.Tensor2D;
      x = colorAffine(x, tf.tensor3d(a, [n, channels, channels]), t);
    }
    if (sigma.some((s) => s > 0)) x = gaussianBlur(x, tf.tensor1d(sigma), Math.max(1, Math.min(Math.round(spec.size * 0.05), Math.floor((spec.size - 1) / 2))));
    return solarizeNormalize(x, tf.tensor1d(solarize), norm.mean, norm.std);
  });
}

/** (x − mean) / std per channel. */
export function normalize(x: tf.Tensor4D, norm: Normalization): tf.Tensor4D {
  return tf.tidy(() => solarizeNormalize(x, tf.zeros([x.shape[0]]) as tf.Tensor1D, norm.mean, norm.std));
}
