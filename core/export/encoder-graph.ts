// The inference graph of a saved ResNet encoder as a flat list of layers, with every BatchNorm
// folded into the convolution before it (eval mode: y = γ·(x − μ)/√(σ² + ε) + β is affine per
// channel, so it becomes the conv's per-output-channel scale and bias). The ONNX and TensorFlow.js
// graph writers both walk this list, so the two exports cannot drift apart, and both follow the
// layout of core/engine/nn/resnet.ts (same stage widths, same stem choice, same parameter names).
import { stageWidths, stemFor, type EncoderConfig } from '../engine/nn/resnet.ts';

/** Must equal the epsilon of batchNormInfer in core/engine/ops.ts. */
export const BN_EPSILON = 1e-5;

export interface NamedArray {
  shape: number[];
  values: Float32Array;
}

export type Layer =
  | { op: 'conv'; name: string; input: string; output: string; kernel: NamedArray; bias: Float32Array; stride: number; pad: number; relu: boolean }
  | { op: 'add-relu'; name: string; a: string; b: string; output: string }
  | { op: 'maxpool'; name: string; input: string; output: string; size: number; stride: number; pad: number }
  | { op: 'global-avg-pool'; name: string; input: string; output: string };

export interface EncoderGraph {
  input: string;
  output: string;
  layers: Layer[];
  featureDim: number;
}

/**
 * Folds conv + BN. `kernel` is TensorFlow's HWIO layout [k, k, cin, cout]; the folded kernel
 * keeps that layout (writers transpose as their format needs).
 */
function foldConvBn(tensors: Map<string, NamedArray>, conv: string, bn: string): { kernel: NamedArray; bias: Float32Array } {
  const get = (n: string) => {
    const t = tensors.get(n);
    if (!t) throw new Error(`the encoder has no tensor ${n}`);
    return t;
  };
  const kernel = get(`${conv}/kernel`);
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const gamma = get(`${bn}/gamma`).values, beta = get(`${bn}/beta`).values;
  const mean = get(`${bn}/running_mean`).values, variance = get(`${bn}/running_var`).values;
  if (gamma.length !== cout) throw new Error(`${bn} has ${gamma.length} channels, ${conv} has ${cout}`);
  const scale = new Float64Array(cout);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    scale[o] = gamma[o]! / Math.sqrt(variance[o]! + BN_EPSILON);
    bias[o] = beta[o]! - mean[o]! * scale[o]!;
  }
  const folded = new Float32Array(kernel.values.length);
  for (let i = 0; i < folded.length; i++) folded[i] = kernel.values[i]! * scale[i % cout]!;
  return { kernel: { shape: [kh, kw, cin, cout], values: folded }, bias };
}

export function encoderGraph(config: EncoderConfig, tensors: Map<string, NamedArray>, prefix = 'encoder'): EncoderGraph {
  if (config.arch !== 'resnet18') throw new Error(`cannot export the ${config.arch} architecture`);
  const widths = stageWidths(config.width);
  const layers: Layer[] = [];
  const p = (s: string) => `${prefix}/${s}`;
  const conv = (name: string, input: string, stride: number, pad: number, relu: boolean, bn = name.replace(/conv(\d?)$/, 'bn$1')): string => {
    const { kernel, bias } = foldConvBn(tensors, name, bn);
    const output = `${name}/out`; // no ':': TensorFlow reads "x:k" as output k of node x
    layers.push({ op: 'conv', name, input, output, kernel, bias, stride, pad, relu });
    return output;
  };
  const imagenet = stemFor(config.inputSize) === 'imagenet';
  let h = conv(p('stem/conv'), 'image', imagenet ? 2 : 1, imagenet ? 3 : 1, true);
  if (imagenet) {
    layers.push({ op: 'maxpool', name: p('stem/maxpool'), input: h, output: p('stem/maxpool/out'), size: 3, stride: 2, pad: 1 });
    h = p('stem/maxpool/out');
  }
  let cin = widths[0]!;
  widths.forEach((cout, stage) => {
    for (let b = 0; b < 2; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = p(`stage${stage + 1}/block${b}`);
      const h1 = conv(`${name}/conv1`, h, stride, 1, true);
      const h2 = conv(`${name}/conv2`, h1, 1, 1, false);
      const shortcut = stride !== 1 || cin !== cout ? conv(`${name}/shortcut/conv`, h, stride, 0, false, `${name}/shortcut/bn`) : h;
      layers.push({ op: 'add-relu', name: `${name}/add`, a: h2, b: shortcut, output: `${name}/out` });
      h = `${name}/out`;
      cin = cout;
    }
  });
  layers.push({ op: 'global-avg-pool', name: p('pool'), input: h, output: 'embedding' });
  return { input: 'image', output: 'embedding', layers, featureDim: cin };
}
