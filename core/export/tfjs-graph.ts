// Encoder → TensorFlow.js GraphModel (model.json + weights.bin), loadable with
// tf.loadGraphModel in a browser or Node without Loupe. Input "image": float32 NHWC
// [batch, size, size, channels], normalised as `userDefinedMetadata.preprocessing` says; output
// "embedding" [batch, featureDim]. The graph is TensorFlow's GraphDef in its JSON form, as the
// tfjs converter writes it: Conv2D with explicit padding, BiasAdd, Relu, AddV2, MaxPool, Mean.
import { encoderGraph, type NamedArray } from './encoder-graph.ts';
import { preprocessingOf, type OnnxExportInput } from './onnx.ts';

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

export interface TfjsGraphModel {
  /** model.json, with weightsManifest pointing at weights.bin. */
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (xs: number[]) => ({ list: { i: xs.map(String) } });
const FLOAT = { type: 'DT_FLOAT' };

export function encoderToTfjsGraph(input: OnnxExportInput): TfjsGraphModel {
  const graph = encoderGraph(input.encoder, input.tensors);
  const s = input.encoder.inputSize, c = input.encoder.inChannels;
  const nodes: TfNode[] = [{
    name: graph.input, op: 'Placeholder',
    attr: { dtype: FLOAT, shape: { shape: { dim: [-1, s, s, c].map((size) => ({ size: String(size) })) } } },
  }];
  const weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }[] = [];
  const constant = (name: string, t: NamedArray | { shape: number[]; values: Int32Array }) => {
    const int = t.values instanceof Int32Array;
    nodes.push({
      name, op: 'Const',
      attr: { dtype: { type: int ? 'DT_INT32' : 'DT_FLOAT' }, value: { tensor: { dtype: int ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: t.shape.map((size) => ({ size: String(size) })) } } } },
    });
    weights.push({ name, shape: t.shape, dtype: int ? 'int32' : 'float32', data: t.values });
    return name;
  };
  const meanAxes = constant('pool/axes', { shape: [2], values: Int32Array.from([1, 2]) });

  for (const layer of graph.layers) {
    switch (layer.op) {
      case 'conv': {
        const kernel = constant(`${layer.name}/kernel`, layer.kernel);
        const bias = constant(`${layer.name}/bias`, { shape: [layer.bias.length], values: layer.bias });
        const p = layer.pad;
        nodes.push({
          name: `${layer.name}/conv`, op: 'Conv2D', input: [layer.input, kernel],
          attr: {
            T: FLOAT, strides: ints([1, layer.stride, layer.stride, 1]), padding: { s: b64('EXPLICIT') },
            explicit_paddings: ints([0, 0, p, p, p, p, 0, 0]), data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]),
          },
        });
        nodes.push({ name: layer.relu ? `${layer.name}/biased` : layer.output, op: 'BiasAdd', input: [`${layer.name}/conv`, bias], attr: { T: FLOAT, data_format: { s: b64('NHWC') } } });
        if (layer.relu) nodes.push({ name: layer.output, op: 'Relu', input: [`${layer.name}/biased`], attr: { T: FLOAT } });
        break;
      }
      case 'add-relu':
        nodes.push({ name: `${layer.name}/sum`, op: 'AddV2', input: [layer.a, layer.b], attr: { T: FLOAT } });
        nodes.push({ name: layer.output, op: 'Relu', input: [`${layer.name}/sum`], attr: { T: FLOAT } });
        break;
      case 'maxpool': {
        // tfjs's MaxPool has no explicit padding. Zero padding is exact here: the input comes out
        // of a ReLU, so no value is below the padding and the max is unchanged.
        const p = layer.pad;
        const paddings = constant(`${layer.name}/paddings`, { shape: [4, 2], values: Int32Array.from([0, 0, p, p, p, p, 0, 0]) });
        nodes.push({ name: `${layer.name}/padded`, op: 'Pad', input: [layer.input, paddings], attr: { T: FLOAT } });
        nodes.push({
          name: layer.output, op: 'MaxPool', input: [`${layer.name}/padded`],
          attr: { T: FLOAT, ksize: ints([1, layer.size, layer.size, 1]), strides: ints([1, layer.stride, layer.stride, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } },
        });
        break;
      }
      case 'global-avg-pool':
        nodes.push({ name: layer.output, op: 'Mean', input: [layer.input, meanAxes], attr: { T: FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } });
        break;
    }
  }

  const total = weights.reduce((sum, w) => sum + w.data.byteLength, 0);
  const bin = new Uint8Array(total);
  let offset = 0;
  for (const w of weights) {
    bin.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    offset += w.data.byteLength;
  }
  const tensorInfo = (name: string, dims: number[]) => ({ name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((size) => ({ size: String(size) })) } });
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'Loupe',
      convertedBy: null,
      modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
      signature: {
        inputs: { [graph.input]: tensorInfo(graph.input, [-1, s, s, c]) },
        outputs: { [graph.output]: tensorInfo(graph.output, [-1, graph.featureDim]) },
      },
      weightsManifest: [{ paths: ['weights.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
      userDefinedMetadata: { preprocessing: { ...preprocessingOf(input.encoder, input.normalization), layout: 'NHWC' }, featureDim: graph.featureDim, ...input.metadata },
    },
    weights: bin,
  };
}
