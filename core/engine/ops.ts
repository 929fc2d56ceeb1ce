// The layer ops encoders are written with. On the native backend they run as fused kernels with
// hand-written gradients (one pass each instead of the ~10 element-wise kernels that autodiff of
// the composite form dispatches); on every other backend (webgpu, wasm, cpu) they are plain tfjs
// compositions and autodiff derives their gradients. Both forms are tested to agree.
import * as tf from '@tensorflow/tfjs';
import { FusedKernel, NATIVE_BACKEND } from './backends/native-backend.ts';

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
  return tf.relu(tf.add(a, b));
}

/** Mean over height and width: [n, h, w, c] → [n, c]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  if (onNative()) {
    registerFusedGradients();
    return tf.engine().runKernel(FusedKernel.globalAvgPool, { x }) as tf.Tensor2D;
  }
  return tf.mean(x, [1, 2]);
}
