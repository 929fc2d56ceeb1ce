// The layer ops encoders are written with. On the native backend they run as fused kernels with
// hand-written gradients (one pass each instead of the ~10 element-wise kernels that autodiff of
// the composite form dispatches); on every other backend (webgpu, wasm, cpu) they are plain tfjs
// compositions and autodiff derives their gradients. Both forms are tested to agree.
import * as tf from '@tensorflow/tfjs';
import { FusedKernel, NATIVE_BACKEND } from './backends/kernel-names.ts';

const onNative = () => tf.getBackend() === NATIVE_BACKEND;

let gradientsRegistered = false;
function registerFusedGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  // Gradients run eagerly inside node.gradient(): one grad kernel yields every input's gradient,
  // and tensors a thunk does not claim are released by the surrounding backward() scope.
  tf.registerGradient({
    kernelName: FusedKernel.batchNorm,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, gamma, y, mean, variance] = saved as tf.Tensor[];
      const [dx, dgamma, dbeta] = tf.engine().runKernel(FusedKernel.batchNormGrad,
        { dy, x: x!, y: y!, gamma: gamma!, mean: mean!, variance: variance! },
        attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  tf.registerGradient({
    kernelName: FusedKernel.addRelu,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const g = tf.engine().runKernel(FusedKernel.reluGrad, { dy: dy as tf.Tensor, y: saved[0]! }) as tf.Tensor;
      return { a: () => g, b: () => g.clone() };
    },
  });
  tf.registerGradient({
    kernelName: FusedKernel.maxPool,
    inputsToSave: ['x'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, argmax] = saved as tf.Tensor[];
      return { x: () => tf.engine().runKernel(FusedKernel.maxPoolGrad, { dy, argmax: argmax! }, { inputShape: x!.shape }) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: FusedKernel.globalAvgPool,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const inputShape = saved[0]!.shape;
      return { x: () => tf.engine().runKernel(FusedKernel.globalAvgPoolGrad, { dy: dy as tf.Tensor }, { inputShape }) as tf.Tensor };
    },
  });
}

export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Batch normalisation over all axes but the last, with batch statistics (training mode), an
 * optional fused ReLU, and the batch mean and biased variance for the running averages.
 */
export function batchNormTrain(x: tf.Tensor4D | tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, relu: boolean,
  epsilon = 1e-5): { y: tf.Tensor; stats: BatchStats } {
  if (onNative()) {
    registerFusedGradients();
    const [y, mean, variance] = tf.engine().runKernel(FusedKernel.batchNorm, { x, gamma, beta },
      { epsilon, relu } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { y: y!, stats: { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D } };
  }
  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const { mean, variance } = tf.moments(x, axes);
  const normed = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
  return { y: relu ? tf.relu(normed) : normed, stats: { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D } };
}

/** Inference-mode batch norm with running statistics. */
export function batchNormInfer(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, mean: tf.Tensor1D,
  variance: tf.Tensor1D, relu: boolean, epsilon = 1e-5): tf.Tensor {
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, epsilon)));
  const shift = tf.sub(beta, tf.mul(mean, scale));
  const y = tf.add(tf.mul(x, scale), shift);
  return relu ? tf.relu(y) : y;
}

/** relu(a + b): the residual join of a ResNet block. */
export function addRelu<T extends tf.Tensor>(a: T, b: T): T {
  if (onNative()) {
    registerFusedGradients();
    return tf.engine().runKernel(FusedKernel.addRelu, { a, b }) as T;
  }
  return tf.relu(tf.add(a, b)) as T;
}

/** Mean over height and width: [n, h, w, c] → [n, c]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  if (onNative()) {
    registerFusedGradients();
    return tf.engine().runKernel(FusedKernel.globalAvgPool, { x }) as tf.Tensor2D;
  }
  return tf.mean(x, [1, 2]);
}

/** Per-image affine colour transform, clamped: out = clamp(A_i · px + t_i, lo, hi). a: [n, c, c], t: [n, c]. */
export function colorAffine(x: tf.Tensor4D, a: tf.Tensor3D, t: tf.Tensor2D, lo = 0, hi = 1): tf.Tensor4D {
  if (onNative()) return tf.engine().runKernel(FusedKernel.colorAffine, { x, a, t }, { lo, hi } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const y = tf.add(tf.matMul(tf.reshape(x, [n, h * w, c]), a, false, true), tf.reshape(t, [n, 1, c]));
    return tf.reshape(tf.clipByValue(y, lo, hi), [n, h, w, c]) as tf.Tensor4D;
  });
}

/** Separable Gaussian blur with a σ per image (σ ≤ 0 leaves an image as it is); mirrored edges. */
export function gaussianBlur(x: tf.Tensor4D, sigma: tf.Tensor1D, radius: number): tf.Tensor4D {
  if (onNative()) return tf.engine().runKernel(FusedKernel.gaussianBlur, { x, sigma }, { radius } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  return tf.tidy(() => {
    const [n] = x.shape;
    const offsets = tf.range(-radius, radius + 1);
    const s = tf.reshape(sigma, [n, 1]);
    const safe = tf.maximum(s, 1e-6);
    let taps = tf.exp(tf.div(tf.mul(-0.5, tf.square(offsets)), tf.square(safe)));
    taps = tf.div(taps, tf.sum(taps, 1, true));
    const identity = tf.mul(tf.ones([n, 1]), tf.oneHot(radius, 2 * radius + 1).reshape([1, 2 * radius + 1]));
    taps = tf.where(tf.greater(tf.tile(s, [1, 2 * radius + 1]), 0), taps, identity);
    const pass = (img: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
      const pad: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
      pad[axis] = [radius, radius];
      const padded = tf.mirrorPad(img, pad, 'reflect');
      let acc: tf.Tensor4D | null = null;
      for (let k = 0; k <= 2 * radius; k++) {
        const begin = [0, 0, 0, 0];
        begin[axis] = k;
        const shifted = tf.slice(padded, begin, img.shape);
        const weight = tf.reshape(tf.slice(taps, [0, k], [n, 1]), [n, 1, 1, 1]);
        const term = tf.mul(shifted, weight) as tf.Tensor4D;
        acc = acc ? (tf.add(acc, term) as tf.Tensor4D) : term;
      }
      return acc!;
    };
    return pass(pass(x, 2), 1);
  });
}

/** Per-image solarisation where flag ≠ 0 (v ≥ threshold → 1 − v), then per-channel (v − mean)/std. */
export function solarizeNormalize(x: tf.Tensor4D, flags: tf.Tensor1D, mean: number[], std: number[], threshold = 0.5): tf.Tensor4D {
  if (onNative()) {
    return tf.tidy(() => tf.engine().runKernel(FusedKernel.solarizeNormalize, { x, flags, mean: tf.tensor1d(mean), std: tf.tensor1d(std) },
      { threshold } as unknown as tf.NamedAttrMap) as tf.Tensor4D);
  }
  return tf.tidy(() => {
    const on = tf.logicalAnd(tf.greaterEqual(x, threshold), tf.greater(tf.reshape(flags, [-1, 1, 1, 1]), 0));
    const v = tf.where(on, tf.sub(1, x), x);
    return tf.div(tf.sub(v, tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D;
  });
}

/** tf.image.cropAndResize (bilinear) with box i applied to image i. boxes: [n, 4] as [y1, x1, y2, x2]. */
export function cropResizeEach(x: tf.Tensor4D, boxes: tf.Tensor2D, size: [number, number]): tf.Tensor4D {
  if (onNative()) return tf.engine().runKernel(FusedKernel.cropAndResize, { x, boxes }, { size } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  return tf.image.cropAndResize(x, boxes, tf.range(0, x.shape[0], 1, 'int32') as tf.Tensor1D, size, 'bilinear');
}

/** Max pooling; on the native backend with saved argmax indices (tfjs's cpu MaxPoolGrad takes seconds per step). */
export function maxPool(x: tf.Tensor4D, size: number, stride: number, pad: 'same' | 'valid' | number): tf.Tensor4D {
  if (onNative()) {
    registerFusedGradients();
    const [y] = tf.engine().runKernel(FusedKernel.maxPool, { x }, { filterSize: [size, size], strides: [stride, stride], pad } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return y as tf.Tensor4D;
  }
  return tf.maxPool(x, size, stride, pad as 'same');
}
