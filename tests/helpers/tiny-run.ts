// Two seeded SimCLR steps of a tiny encoder on the active backend, with fingerprints of a few
// parameters: the shared body of the cross-backend checks (Node child processes and Chromium).
// Browser-safe: no Node imports.
import * as tf from '@tensorflow/tfjs';
import { resolveHyperparameters } from '../../core/engine/method.ts';
import { buildModel } from '../../core/engine/model.ts';
import { defaultOptimizer, Optimizer } from '../../core/engine/optim.ts';
import { Rng } from '../../core/engine/rng.ts';
import { trainStep } from '../../core/engine/step.ts';
import { simclr } from '../../plugins/ssl/simclr.ts';

export interface TinyRunResult {
  losses: number[];
  fingerprint: Record<string, number[]>;
}

export async function tinyRun(steps = 2): Promise<TinyRunResult> {
  const size = 16, batch = 8;
  const hp = resolveHyperparameters(simclr, { hiddenDim: 32, projectionDim: 16 });
  const model = buildModel(simclr, { arch: 'resnet18', width: 0.125, inputSize: size, inChannels: 3 }, hp, 7);
  const optimizer = new Optimizer({ ...defaultOptimizer, name: 'sgd', momentum: 0.9, weightDecay: 0 });
  const rng = new Rng(1);
  const view = () => tf.tensor4d(Float32Array.from({ length: batch * size * size * 3 }, () => rng.uniform(-1, 1)), [batch, size, size, 3]);
  const views = [view(), view()];
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = trainStep(model, optimizer, views, step, steps, 0.002);
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  const fingerprint: Record<string, number[]> = {};
  for (const name of ['encoder/stem/conv/kernel', 'encoder/stage4/block1/bn2/gamma', 'method/projector/fc1/kernel', 'encoder/stem/bn/running_mean']) {
    fingerprint[name] = Array.from((await model.params.get(name).data()).slice(0, 8));
  }
  tf.dispose(views);
  optimizer.dispose();
  model.dispose();
  return { losses, fingerprint };
}
