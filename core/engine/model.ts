// Builds the network of a run (encoder + the method's heads/teachers) deterministically from its
// config and seed, so a resumed run, the embedder and the exporter all rebuild the same graph and
// then load weights by name.
import * as tf from '@tensorflow/tfjs';
import type { HyperValue, MethodInstance, SslMethod } from './method.ts';
import { Params } from './nn/params.ts';
import { createResNet, type Encoder, type EncoderConfig } from './nn/resnet.ts';
import { Rng } from './rng.ts';
import { copyAsTeacher } from './teacher.ts';

export interface BuiltModel {
  params: Params;
  encoder: Encoder;
  method: MethodInstance;
  dispose(): void;
}

export function buildModel(method: SslMethod, encoderConfig: EncoderConfig, hp: Record<string, HyperValue>, seed: number, datasetSize = 0): BuiltModel {
  const params = new Params();
  const rng = Rng.derive(seed, 'init');
  const encoder = createResNet(params, rng, encoderConfig);
  const instance = method.build({
    params, rng, encoder, hp, encoderConfig, datasetSize,
    createEncoder: (prefix, trainable) => {
      const copy = createResNet(params, Rng.derive(seed, `init:${prefix}`), encoderConfig, prefix);
      // Teachers start as copies of the student and are then moved by EMA, never by gradients.
      if (!trainable) copyAsTeacher(params, 'encoder/', `${prefix}/`);
      return copy;
    },
  });
  return { params, encoder, method: instance, dispose: () => { instance.dispose?.(); params.dispose(); } };
}

/** Encoder-only weights (the part that is exported and embedded with). */
export function encoderTensors(params: Params): [string, tf.Variable][] {
  return params.withPrefix('encoder/');
}

/** Loads named tensors into params; every encoder tensor must be present. */
export function loadInto(params: Params, tensors: Map<string, tf.Tensor>, { requirePrefix = 'encoder/' } = {}): void {
  for (const [name, v] of params.all()) {
    const t = tensors.get(name);
    if (!t) {
      if (name.startsWith(requirePrefix)) throw new Error(`the saved model has no ${name}`);
      continue;
    }
    if (!tf.util.arraysEqual(t.shape, v.shape)) throw new Error(`${name} has shape ${t.shape}, the model expects ${v.shape}`);
    v.assign(t);
  }
}
