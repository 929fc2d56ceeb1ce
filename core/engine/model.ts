// Builds the network of a run (encoder + the method's heads/teachers) deterministically from its
// config and seed, so a resumed run, the embedder and the exporter all rebuild the same graph and
// then load weights by name.
import * as tf from '@tensorflow/tfjs';
import type { HyperValue, MethodInstance, SslMethod } from './method.ts';
import type { TrainingLabels } from './labels.ts';
import { Params } from './nn/params.ts';
import { createResNet, type Encoder, type EncoderConfig } from './nn/resnet.ts';
import { Rng } from './rng.ts';
import { copyAsTeacher } from './teacher.ts';

export interface BuiltModel {
  params: Params;
  /** The encoder the method trains. */
  encoder: Encoder;
  /** The encoder whose weights are the run's result (method.outputEncoder; else `encoder`) and its parameter prefix. */
  output: { encoder: Encoder; prefix: string };
  method: MethodInstance;
  /** Teachers copy the trained encoder again (after it was loaded from another run's weights). */
  recopyTeachers(): void;
  dispose(): void;
}

export function buildModel(method: SslMethod, encoderConfig: EncoderConfig, hp: Record<string, HyperValue>, seed: number, datasetSize = 0, labels?: TrainingLabels): BuiltModel {
  const params = new Params();
  const rng = Rng.derive(seed, 'init');
  const encoder = createResNet(params, rng, encoderConfig);
  const made = new Map<string, Encoder>(), teachers: string[] = [];
  const instance = method.build({
    params, rng, encoder, hp, encoderConfig, datasetSize, ...(labels ? { labels } : {}),
    createEncoder: (prefix, trainable) => {
      const copy = createResNet(params, Rng.derive(seed, `init:${prefix}`), encoderConfig, prefix);
      made.set(prefix, copy);
      // Teachers start as copies of the student and are then moved by EMA, never by gradients.
      if (!trainable) {
        copyAsTeacher(params, 'encoder/', `${prefix}/`);
        teachers.push(prefix);
      }
      return copy;
    },
  });
  const prefix = method.outputEncoder ?? 'encoder';
  const output = prefix === 'encoder' ? encoder : made.get(prefix);
  if (!output) {
    instance.dispose?.();
    params.dispose();
    throw new Error(`${method.name} names "${prefix}" as its output encoder but made no encoder with that prefix`);
  }
  return {
    params, encoder, method: instance, output: { encoder: output, prefix },
    recopyTeachers: () => teachers.forEach((t) => copyAsTeacher(params, 'encoder/', `${t}/`)),
    dispose: () => { instance.dispose?.(); params.dispose(); },
  };
}

/** The output encoder's weights under "encoder/" names (the part that is exported and embedded with). */
export function encoderTensors(params: Params, prefix = 'encoder'): [string, tf.Variable][] {
  return params.withPrefix(`${prefix}/`).map(([name, v]) => [`encoder/${name.slice(prefix.length + 1)}`, v]);
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
