// Child-process helper: one seeded SimCLR training step of a tiny encoder on the backend named in
// argv[2]; prints the loss and a few parameter fingerprints as JSON (for cross-backend checks).
import * as tf from '@tensorflow/tfjs';
import { activateBackend, type BackendName } from '../../core/engine/backends/select.ts';
import { resolveHyperparameters } from '../../core/engine/method.ts';
import { buildModel } from '../../core/engine/model.ts';
import { defaultOptimizer, Optimizer } from '../../core/engine/optim.ts';
import { Rng } from '../../core/engine/rng.ts';
import { trainStep } from '../../core/engine/step.ts';
import { simclr } from '../../plugins/ssl/simclr.ts';

const backend = process.argv[2] as BackendName;
const active = await activateBackend(backend, { strict: true });
const size = 16, batch = 8;
const hp = resolveHyperparameters(simclr, { hiddenDim: 32, projectionDim: 16 });
const model = buildModel(simclr, { arch: 'resnet18', width: 0.125, inputSize: size, inChannels: 3 }, hp, 7);
const optimizer = new Optimizer({ ...defaultOptimizer, name: 'sgd', momentum: 0.9, weightDecay: 0 });
const rng = new Rng(1);
const view = () => tf.tensor4d(Float32Array.from({ length: batch * size * size * 3 }, () => rng.uniform(-1, 1)), [batch, size, size, 3]);
const views = [view(), view()];
const losses: number[] = [];
const stepsToRun = Number(process.argv[3] ?? 2);
for (let step = 0; step < stepsToRun; step++) {
  const loss = trainStep(model, optimizer, views, step, 2, 0.002);
  losses.push((await loss.data())[0]!);
  loss.dispose();
}
const fingerprint: Record<string, number[]> = {};
for (const name of ['encoder/stem/conv/kernel', 'encoder/stage4/block1/bn2/gamma', 'method/projector/fc1/kernel', 'encoder/stem/bn/running_mean']) {
  fingerprint[name] = Array.from((await model.params.get(name).data()).slice(0, 8));
}
console.log(JSON.stringify({ backend: active.name, device: active.device, losses, fingerprint }));
