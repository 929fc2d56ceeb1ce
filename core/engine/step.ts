// One optimisation step: loss under the tape, gradients, optimiser update, BN running statistics,
// then the method's after-step hook (EMA teachers…). Shared by the trainer and the benchmark so
// the benchmark measures exactly what training runs.
import * as tf from '@tensorflow/tfjs';
import type { BuiltModel } from './model.ts';
import { BatchStatsLog } from './nn/params.ts';
import type { Optimizer } from './optim.ts';

export function trainStep(model: BuiltModel, optimizer: Optimizer, views: tf.Tensor4D[], step: number, totalSteps: number, lr: number, rows: readonly number[] = [],
  schedule: { peak: number; epoch: number } = { peak: lr, epoch: 0 }): tf.Scalar {
  const stats = new BatchStatsLog();
  const trainable = [...model.params.trainable.values()];
  const nameOf = new Map([...model.params.trainable].map(([name, v]) => [v.name, name]));
  const context = { views, mode: { training: true, stats }, step, totalSteps, rows };
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    result = tf.variableGrads(() => model.method.loss(context), trainable);
  } catch (err) {
    stats.dispose();
    throw err;
  }
  const named: Record<string, tf.Tensor> = {};
  for (const [varName, g] of Object.entries(result.grads)) named[nameOf.get(varName)!] = g;
  const perParam = model.method.learningRate?.bind(model.method);
  optimizer.apply(model.params.trainable, named, perParam ? (name) => perParam(name, lr, { step, totalSteps, ...schedule }) : lr);
  tf.dispose(Object.values(result.grads));
  stats.apply(model.params);
  model.method.afterStep?.({ ...context, mode: { training: false } });
  return result.value;
}
