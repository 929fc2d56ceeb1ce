// The `native` backend: tfjs's cpu backend (JS typed arrays as storage) with the heavy kernels
// replaced by Loupe's multi-threaded native library, called on the same arrays without copying.
// Everything not overridden (small element-wise ops, optimiser updates, reshapes) keeps running
// in the cpu backend's JS kernels, which is cheap because the encoders route their big tensors
// through the fused ops in ../ops.ts.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeKernels } from './native-kernels.ts';

import { FusedKernel, NATIVE_BACKEND } from './kernel-names.ts';

export { FusedKernel, NATIVE_BACKEND };

/**
 * Recycles the output arrays of native kernels. A fresh 8 MB Float32Array costs ~2.5 ms of page
 * faults on first touch, more than the batch-norm that fills it, and a training step allocates
 * hundreds of MB; arrays returned on dispose are handed to the next kernel of the same size.
 * Only arrays this backend allocated are pooled, and one stops being poolable the moment it may
 * be visible elsewhere: read by user code (dataSync returns the array itself) or aliased by a
 * view that a cpu kernel made of it (a contiguous Slice is a subarray).
 */
class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private pooledBytes = 0;

  // A step's activations return to the pool together, so the pool must hold a whole step's worth.
  constructor(private readonly limitBytes = Math.min(4 * 2 ** 30, Math.max(512 * 2 ** 20, os.totalmem() / 8))) {}

  take(length: number): Float32Array {
    const a = this.free.get(length)?.pop();
    if (a) {
      this.pooledBytes -= a.byteLength;
      return a;
    }
    const b = new Float32Array(length);
    this.owned.add(b);
    return b;
  }

  isOwned(a: unknown): a is Float32Array {
    return a instanceof Float32Array && this.owned.has(a);
  }

  release(a: unknown): void {
    if (!this.isOwned(a) || this.pooledBytes + a.byteLength > this.limitBytes) return;
    let list = this.free.get(a.length);
    if (!list) this.free.set(a.length, (list = []));
    list.push(a);
    this.pooledBytes += a.byteLength;
  }

  /** The array may be referenced outside the backend from now on. */
  escape(a: unknown): void {
    if (a instanceof Float32Array) this.owned.delete(a);
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}

const pool = new BufferPool();

class NativeBackend extends MathBackendCPU {
  override readSync(dataId: object): tf.backend_util.BackendValues {
    const v = super.readSync(dataId);
    pool.escape(this.data.get(dataId)?.values);
    return v;
  }

  override disposeData(dataId: object, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const deleted = super.disposeData(dataId, force);
    if (deleted) pool.release(values);
    return deleted;
  }

  override dispose(): void {
    pool.clear();
    super.dispose();
  }
}

type Kernel = tf.KernelConfig['kernelFunc'];
type Info = tf.TensorInfo;
type Backend = MathBackendCPU;

function values(backend: Backend, t: Info): Float32Array | null {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}

function convSizes(c: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels,
    c.filterHeight, c.filterWidth, c.outChannels,
    c.outHeight, c.outWidth,
    c.strideHeight, c.strideWidth, c.padInfo.top, c.padInfo.left,
    c.dilationHeight, c.dilationWidth,
  ]);
}


let registered = false;

export function registerNativeBackend(kernels: NativeKernels): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 3);

  const cpuKernel = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k.kernelFunc]));
  // Every cpu kernel, guarded: an output that views a pooled input's memory makes that input unpoolable.
  for (const k of tf.getKernelsForBackend('cpu')) {
    const run = k.kernelFunc;
    tf.registerKernel({ ...k, backendName: NATIVE_BACKEND, kernelFunc: (args) => {
      const out = run(args);
      const backend = args.backend as Backend;
      const inputs = Object.values(args.inputs).map((t) => t && backend.data.get(t.dataId)?.values).filter((v) => pool.isOwned(v));
      if (inputs.length) {
        for (const o of Array.isArray(out) ? out : [out]) {
          const v = backend.data.get(o.dataId)?.values as Float32Array | undefined;
          for (const i of inputs) if (v && v !== i && (v as Float32Array).buffer === (i as Float32Array).buffer) pool.escape(i);
        }
      }
      return out;
    } });
  }
  const override = (kernelName: string, kernelFunc: Kernel) => {
    tf.unregisterKernel(kernelName, NATIVE_BACKEND);
    tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc });
  };
  const fallback = (name: string): Kernel => {
    const k = cpuKernel.get(name);
    if (!k) throw new Error(`tfjs cpu backend has no ${name} kernel`);
    return k;
  };

  const conv2dCpu = fallback(tf.Conv2D);
  override(tf.Conv2D, (args) => {
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    const backend = args.backend as Backend;
    const xv = values(backend, x), fv = values(backend, filter);
    if (a.dataFormat === 'NCHW' || !xv || !fv) return conv2dCpu(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const out = pool.take(tf.util.sizeFromShape(info.outShape));
    kernels.conv2d(xv, fv, out, convSizes(info));
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  });

  const backpropInputCpu = fallback(tf.Conv2DBackpropInput);
  override(tf.Conv2DBackpropInput, (args) => {
    const { dy, filter } = args.inputs as { dy: Info; filter: Info };
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const backend = args.backend as Backend;
    const dyv = values(backend, dy), fv = values(backend, filter);
    if (a.dataFormat === 'NCHW' || !dyv || !fv) return backpropInputCpu(args);
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number],
      a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const out = pool.take(tf.util.sizeFromShape(a.inputShape));
    kernels.conv2dBackpropInput(dyv, fv, out, convSizes(info));
    return backend.makeTensorInfo(a.inputShape, 'float32', out);
  });

  const backpropFilterCpu = fallback(tf.Conv2DBackpropFilter);
  override(tf.Conv2DBackpropFilter, (args) => {
    const { x, dy } = args.inputs as { x: Info; dy: Info };
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const backend = args.backend as Backend;
    const xv = values(backend, x), dyv = values(backend, dy);
    if (a.dataFormat === 'NCHW' || !xv || !dyv) return backpropFilterCpu(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape,
      a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const out = pool.take(tf.util.sizeFromShape(a.filterShape));
    kernels.conv2dBackpropFilter(xv, dyv, out, convSizes(info));
    return backend.makeTensorInfo(a.filterShape, 'float32', out);
  });

  const matmulCpu = fallback(tf.BatchMatMul);
  override(tf.BatchMatMul, (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const backend = args.backend as Backend;
    const av = values(backend, a), bv = values(backend, b);
    const ra = a.shape.length, rb = b.shape.length;
    if (!av || !bv || ra < 2 || rb < 2) return matmulCpu(args);
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2)), batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const sameBatchShape = tf.util.arraysEqual(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (!sameBatchShape && batchA !== 1 && batchB !== 1) return matmulCpu(args);
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    if (k !== kb) return matmulCpu(args); // let tfjs raise its own shape error
    const batchShape = (batchA >= batchB ? a : b).shape.slice(0, -2);
    const out = pool.take(Math.max(batchA, batchB) * m * n);
    kernels.matmul(av, bv, out, Int32Array.from([batchA, batchB, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0]));
    return backend.makeTensorInfo([...batchShape, m, n], 'float32', out);
  });

  // Gradient accumulation adds full-size activations: same-shape float adds go native.
  const addCpu = fallback(tf.Add);
  override(tf.Add, (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const backend = args.backend as Backend;
    if (!tf.util.arraysEqual(a.shape, b.shape) || tf.util.sizeFromShape(a.shape) < 16384) return addCpu(args);
    const av = values(backend, a), bv = values(backend, b);
    if (!av || !bv) return addCpu(args);
    const out = pool.take(av.length);
    kernels.add(av, bv, out);
    return backend.makeTensorInfo(a.shape, 'float32', out);
  });

  const reg = (kernelName: string, kernelFunc: Kernel) =>
    tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc });
  const f32 = (backend: Backend, t: Info, what: string): Float32Array => {
    const v = values(backend, t);
    if (!v) throw new Error(`${what} must be float32`);
    return v;
  };

  reg(FusedKernel.batchNorm, ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs as { x: Info; gamma: Info; beta: Info };
    const { epsilon, relu } = attrs as unknown as { epsilon: number; relu: boolean };
    const b = backend as Backend;
    const c = x.shape[x.shape.length - 1]!, rows = tf.util.sizeFromShape(x.shape) / c;
    const y = pool.take(rows * c), mean = pool.take(c), variance = pool.take(c);
    kernels.batchNorm(f32(b, x, 'x'), f32(b, gamma, 'gamma'), f32(b, beta, 'beta'), y, mean, variance,
      Int32Array.from([rows, c]), epsilon, relu);
    return [b.makeTensorInfo(x.shape, 'float32', y), b.makeTensorInfo([c], 'float32', mean), b.makeTensorInfo([c], 'float32', variance)];
  });

  reg(FusedKernel.batchNormGrad, ({ inputs, attrs, backend }) => {
    const { dy, x, y, gamma, mean, variance } = inputs as Record<'dy' | 'x' | 'y' | 'gamma' | 'mean' | 'variance', Info>;
    const { epsilon, relu } = attrs as unknown as { epsilon: number; relu: boolean };
    const b = backend as Backend;
    const c = x.shape[x.shape.length - 1]!, rows = tf.util.sizeFromShape(x.shape) / c;
    const dx = pool.take(rows * c), dgamma = pool.take(c), dbeta = pool.take(c);
    kernels.batchNormGrad(f32(b, dy, 'dy'), f32(b, x, 'x'), f32(b, y, 'y'), f32(b, gamma, 'gamma'), f32(b, mean, 'mean'),
      f32(b, variance, 'variance'), dx, dgamma, dbeta, Int32Array.from([rows, c]), epsilon, relu);
    return [b.makeTensorInfo(x.shape, 'float32', dx), b.makeTensorInfo([c], 'float32', dgamma), b.makeTensorInfo([c], 'float32', dbeta)];
  });

  reg(FusedKernel.addRelu, ({ inputs, backend }) => {
    const { a, b: bb } = inputs as { a: Info; b: Info };
    const b = backend as Backend;
    const out = pool.take(tf.util.sizeFromShape(a.shape));
    kernels.addRelu(f32(b, a, 'a'), f32(b, bb, 'b'), out);
    return b.makeTensorInfo(a.shape, 'float32', out);
  });

  reg(FusedKernel.reluGrad, ({ inputs, backend }) => {
    const { dy, y } = inputs as { dy: Info; y: Info };
    const b = backend as Backend;
    const out = pool.take(tf.util.sizeFromShape(y.shape));
    kernels.reluGrad(f32(b, dy, 'dy'), f32(b, y, 'y'), out);
    return b.makeTensorInfo(y.shape, 'float32', out);
  });

  reg(FusedKernel.globalAvgPool, ({ inputs, backend }) => {
    const { x } = inputs as { x: Info };
    const b = backend as Backend;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = pool.take(n * c);
    kernels.avgPool(f32(b, x, 'x'), out, Int32Array.from([n, h * w, c]));
    return b.makeTensorInfo([n, c], 'float32', out);
  });

  reg(FusedKernel.globalAvgPoolGrad, ({ inputs, attrs, backend }) => {
    const { dy } = inputs as { dy: Info };
    const { inputShape } = attrs as unknown as { inputShape: [number, number, number, number] };
    const b = backend as Backend;
    const [n, h, w, c] = inputShape;
    const out = pool.take(n * h * w * c);
    kernels.avgPoolGrad(f32(b, dy, 'dy'), out, Int32Array.from([n, h * w, c]));
    return b.makeTensorInfo(inputShape, 'float32', out);
  });

  reg(FusedKernel.adam, ({ inputs, attrs, backend }) => {
    const { w, g, m, v } = inputs as Record<'w' | 'g' | 'm' | 'v', Info>;
    const h = attrs as unknown as { beta1: number; beta2: number; stepSize: number; epsHat: number; l2: number; decoupled: number };
    const b = backend as Backend;
    const n = tf.util.sizeFromShape(w.shape);
    const wo = pool.take(n), mo = pool.take(n), vo = pool.take(n);
    kernels.adam(f32(b, w, 'w'), f32(b, g, 'g'), f32(b, m, 'm'), f32(b, v, 'v'), wo, mo, vo,
      Float32Array.from([h.beta1, h.beta2, h.stepSize, h.epsHat, h.l2, h.decoupled]));
    return [b.makeTensorInfo(w.shape, 'float32', wo), b.makeTensorInfo(w.shape, 'float32', mo), b.makeTensorInfo(w.shape, 'float32', vo)];
  });

  reg(FusedKernel.colorAffine, ({ inputs, attrs, backend }) => {
    const { x, a, t } = inputs as Record<'x' | 'a' | 't', Info>;
    const { lo, hi } = attrs as unknown as { lo: number; hi: number };
    const b = backend as Backend;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = pool.take(n * h * w * c);
    kernels.colorAffine(f32(b, x, 'x'), f32(b, a, 'a'), f32(b, t, 't'), out, Int32Array.from([n, h * w, c]), lo, hi);
    return b.makeTensorInfo(x.shape, 'float32', out);
  });

  reg(FusedKernel.gaussianBlur, ({ inputs, attrs, backend }) => {
    const { x, sigma } = inputs as Record<'x' | 'sigma', Info>;
    const { radius } = attrs as unknown as { radius: number };
    const b = backend as Backend;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = pool.take(n * h * w * c);
    kernels.gaussianBlur(f32(b, x, 'x'), f32(b, sigma, 'sigma'), out, Int32Array.from([n, h, w, c, radius]));
    return b.makeTensorInfo(x.shape, 'float32', out);
  });

  reg(FusedKernel.solarizeNormalize, ({ inputs, attrs, backend }) => {
    const { x, flags, mean, std } = inputs as Record<'x' | 'flags' | 'mean' | 'std', Info>;
    const { threshold } = attrs as unknown as { threshold: number };
    const b = backend as Backend;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = pool.take(n * h * w * c);
    kernels.solarizeNormalize(f32(b, x, 'x'), f32(b, flags, 'flags'), f32(b, mean, 'mean'), f32(b, std, 'std'), out,
      Int32Array.from([n, h * w, c]), threshold);
    return b.makeTensorInfo(x.shape, 'float32', out);
  });

  reg(FusedKernel.cropAndResize, ({ inputs, attrs, backend }) => {
    const { x, boxes } = inputs as Record<'x' | 'boxes', Info>;
    const { size } = attrs as unknown as { size: [number, number] };
    const b = backend as Backend;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = pool.take(n * size[0] * size[1] * c);
    kernels.cropAndResize(f32(b, x, 'x'), f32(b, boxes, 'boxes'), out, Int32Array.from([n, h, w, c, size[0], size[1]]));
    return b.makeTensorInfo([n, size[0], size[1], c], 'float32', out);
  });

  reg(FusedKernel.maxPool, ({ inputs, attrs, backend }) => {
    const { x } = inputs as { x: Info };
    const { filterSize, strides, pad } = attrs as unknown as { filterSize: [number, number]; strides: [number, number]; pad: 'same' | 'valid' | number };
    const b = backend as Backend;
    const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad);
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const y = pool.take(n * info.outHeight * info.outWidth * c);
    const argmax = new Int32Array(y.length);
    kernels.maxPool(f32(b, x, 'x'), y, argmax, Int32Array.from([n, h, w, c, info.filterHeight, info.filterWidth, info.strideHeight,
      info.strideWidth, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth]));
    const shape = [n, info.outHeight, info.outWidth, c];
    return [b.makeTensorInfo(shape, 'float32', y), b.makeTensorInfo(shape, 'int32', argmax)];
  });

  reg(FusedKernel.maxPoolGrad, ({ inputs, attrs, backend }) => {
    const { dy, argmax } = inputs as { dy: Info; argmax: Info };
    const { inputShape } = attrs as unknown as { inputShape: [number, number, number, number] };
    const b = backend as Backend;
    const [n, h, w, c] = inputShape;
    const dx = pool.take(n * h * w * c);
    const arg = b.data.get(argmax.dataId).values as Int32Array;
    kernels.maxPoolGrad(f32(b, dy, 'dy'), arg, dx, Int32Array.from([n, h * w * c, tf.util.sizeFromShape(dy.shape) / n]));
    return b.makeTensorInfo(inputShape, 'float32', dx);
  });
}
