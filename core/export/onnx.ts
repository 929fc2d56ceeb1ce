// Encoder → ONNX (opset 17, IR version 8). Input "image": float32 [batch, channels, size, size]
// (NCHW, normalised as the metadata says); output "embedding": float32 [batch, featureDim]. The
// batch dimension is symbolic, BatchNorm is folded into the convolutions, and the preprocessing
// (size, resize policy, mean/std) travels in the model's metadata_props so a consumer needs no
// other file. Field numbers follow onnx/onnx.proto.
import { encoderGraph, type EncoderGraph, type NamedArray } from './encoder-graph.ts';
import { ProtoWriter } from './protobuf.ts';
import type { EncoderConfig } from '../engine/nn/resnet.ts';

export const ONNX_OPSET = 17;
const IR_VERSION = 8;
const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

export interface Preprocessing {
  inputSize: number;
  channels: number;
  layout: 'NCHW';
  /** How Loupe turns an image into the input: resize to a square by cover-crop, RGB, 0–1, then (x − mean) / std per channel. */
  resize: 'cover-crop';
  mean: number[];
  std: number[];
}

export interface OnnxExportInput {
  encoder: EncoderConfig;
  tensors: Map<string, NamedArray>;
  normalization: { mean: number[]; std: number[] };
  /** Extra key/value facts for metadata_props (method, run, Loupe version...). */
  metadata?: Record<string, string>;
  producerVersion?: string;
}

/** HWIO [kh, kw, cin, cout] → OIHW [cout, cin, kh, kw]. */
function toOihw(kernel: NamedArray): NamedArray {
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const out = new Float32Array(kernel.values.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) {
    const src = ((y * kw + x) * cin + i) * cout;
    for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = kernel.values[src + o]!;
  }
  return { shape: [cout, cin, kh, kw], values: out };
}

function tensorProto(w: ProtoWriter, name: string, t: NamedArray): void {
  w.packedInts(1, t.shape).int(2, FLOAT).string(8, name)
    .bytes(9, new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
}

function valueInfo(w: ProtoWriter, name: string, dims: (number | string)[]): void {
  w.string(1, name).message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, FLOAT).message(2, (shape) => {
      for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
    });
  }));
}

type Attr = [name: string, value: number | number[]];

function node(g: ProtoWriter, op: string, name: string, inputs: string[], outputs: string[], attrs: Attr[] = []): void {
  g.message(1, (n) => {
    for (const i of inputs) n.string(1, i);
    for (const o of outputs) n.string(2, o);
    n.string(3, name).string(4, op);
    for (const [key, value] of attrs) {
      n.message(5, (a) => {
        a.string(1, key);
        if (Array.isArray(value)) a.packedInts(8, value).int(20, ATTR_INTS);
        else a.int(3, value).int(20, ATTR_INT);
      });
    }
  });
}

function writeGraph(g: ProtoWriter, graph: EncoderGraph, inputDims: (number | string)[]): void {
  const initializers: [string, NamedArray][] = [];
  for (const layer of graph.layers) {
    switch (layer.op) {
      case 'conv': {
        const k = toOihw(layer.kernel);
        const [, , kh, kw] = k.shape as [number, number, number, number];
        initializers.push([`${layer.name}/weight`, k], [`${layer.name}/bias`, { shape: [layer.bias.length], values: layer.bias }]);
        const out = layer.relu ? `${layer.output}:pre` : layer.output;
        node(g, 'Conv', layer.name, [layer.input, `${layer.name}/weight`, `${layer.name}/bias`], [out], [
          ['kernel_shape', [kh, kw]], ['strides', [layer.stride, layer.stride]], ['pads', [layer.pad, layer.pad, layer.pad, layer.pad]],
        ]);
        if (layer.relu) node(g, 'Relu', `${layer.name}/relu`, [out], [layer.output]);
        break;
      }
      case 'add-relu':
        node(g, 'Add', layer.name, [layer.a, layer.b], [`${layer.output}:pre`]);
        node(g, 'Relu', `${layer.name}/relu`, [`${layer.output}:pre`], [layer.output]);
        break;
      case 'maxpool':
        node(g, 'MaxPool', layer.name, [layer.input], [layer.output], [
          ['kernel_shape', [layer.size, layer.size]], ['strides', [layer.stride, layer.stride]], ['pads', [layer.pad, layer.pad, layer.pad, layer.pad]],
        ]);
        break;
      case 'global-avg-pool':
        node(g, 'GlobalAveragePool', layer.name, [layer.input], [`${layer.output}:nchw`]);
        node(g, 'Flatten', `${layer.name}/flatten`, [`${layer.output}:nchw`], [layer.output], [['axis', 1]]);
        break;
    }
  }
  g.string(2, 'loupe_encoder');
  for (const [name, t] of initializers) g.message(5, (w) => tensorProto(w, name, t));
  g.message(11, (w) => valueInfo(w, graph.input, inputDims));
  g.message(12, (w) => valueInfo(w, graph.output, ['batch', graph.featureDim]));
}

export function preprocessingOf(encoder: EncoderConfig, normalization: { mean: number[]; std: number[] }): Preprocessing {
  return { inputSize: encoder.inputSize, channels: encoder.inChannels, layout: 'NCHW', resize: 'cover-crop', mean: normalization.mean, std: normalization.std };
}

/** The serialised ONNX model (write it to a `.onnx` file as is). */
export function encoderToOnnx(input: OnnxExportInput): Uint8Array {
  const graph = encoderGraph(input.encoder, input.tensors);
  const s = input.encoder.inputSize, channels = input.encoder.inChannels;
  const metadata: Record<string, string> = {
    'loupe.preprocessing': JSON.stringify(preprocessingOf(input.encoder, input.normalization)),
    'loupe.featureDim': String(graph.featureDim),
    ...input.metadata,
  };
  const model = new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, 'Loupe')
    .string(3, input.producerVersion ?? '')
    .string(6, 'Image encoder exported by Loupe. Input: RGB resized to a square by cover-crop, scaled to 0–1, normalised per channel with the mean/std in loupe.preprocessing, NCHW.')
    .message(7, (g) => writeGraph(g, graph, ['batch', channels, s, s]))
    .message(8, (o) => o.string(1, '').int(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(metadata)) model.message(14, (m) => m.string(1, key).string(2, value));
  return model.finish();
}
