// tfjs-backend-wasm 4.22 cannot train a conv net: it has no Conv2DBackpropFilter. This adds it as
// a convolution over transposed tensors (DESIGN §2: matches the cpu backend within ~6e-6 and beats
// im2col + matmul 2.8×): with the batch as channels, x as [Ci, H, W, N] convolved with dy as a
// filter [OH, OW, N, Co], dilated by the forward stride, yields dW as [Ci, KH, KW, Co].
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
type KernelFunc = tf.KernelConfig['kernelFunc'];

let registered = false;

export function registerWasmTrainingKernels(): void {
  if (registered || tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')) return;
  registered = true;
  const kernel = (name: string): KernelFunc => {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
    return k.kernelFunc;
  };
  const transpose = kernel(tf.Transpose), conv = kernel(tf.Conv2D), slice = kernel(tf.Slice);

  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: Info; dy: Info };
      const { strides, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1,
        pad, dimRoundingMode);
      const temps: Info[] = [];
      const run = (f: KernelFunc, ins: tf.NamedTensorInfoMap, at: object): Info => {
        const out = f({ inputs: ins, backend, attrs: at as tf.NamedAttrMap }) as Info;
        temps.push(out);
        return out;
      };
      const xt = run(transpose, { x }, { perm: [3, 1, 2, 0] });
      const dyt = run(transpose, { x: dy }, { perm: [1, 2, 0, 3] });
      const { top, bottom, left, right } = info.padInfo;
      const full = run(conv, { x: xt, filter: dyt }, {
        strides: [1, 1], dilations: [info.strideHeight, info.strideWidth], dataFormat: 'NHWC',
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      });
      const [kh, kw, ci, co] = filterShape;
      const cut = run(slice, { x: full }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
      const out = transpose({ inputs: { x: cut }, backend, attrs: { perm: [1, 2, 0, 3] } as unknown as tf.NamedAttrMap }) as Info;
      for (const t of temps) (backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
    },
  });
}
