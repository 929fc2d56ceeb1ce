// Browser entry (bundled by tests/webgpu-browser.test.ts): the same seeded two-step SimCLR
// training of a tiny encoder as tests/helpers/one-step.ts, on Chromium's own WebGPU.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { resolveHyperparameters } from '../../core/engine/method.ts';
import { buildModel } from '../../core/engine/model.ts';
import { defaultOptimizer, Optimizer } from '../../core/engine/optim.ts';
import { Rng } from '../../core/engine/rng.ts';
import { trainStep } from '../../core/engine/step.ts';
import { simclr } from '../../plugins/ssl/simclr.ts';

async function run(): Promise<unknown> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('webgpu backend did not initialise');
  const adapter = await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu.requestAdapter();
  const size = 16, batch = 8;
  const hp = resolveHyperparameters(simclr, { hiddenDim: 32, projectionDim: 16 });
  const model = buildModel(simclr, { arch: 'resnet18', width: 0.125, inputSize: size, inChannels: 3 }, hp, 7);
  const optimizer = new Optimizer({ ...defaultOptimizer, name: 'sgd', momentum: 0.9, weightDecay: 0 });
  const rng = new Rng(1);
  const view = () => tf.tensor4d(Float32Array.from({ length: batch * size * size * 3 }, () => rng.uniform(-1, 1)), [batch, size, size, 3]);
  const views = [view(), view()];
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    const loss = trainStep(model, optimizer, views, step, 2, 0.002);
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  const fingerprint: Record<string, number[]> = {};
  for (const name of ['encoder/stem/conv/kernel', 'encoder/stage4/block1/bn2/gamma', 'method/projector/fc1/kernel', 'encoder/stem/bn/running_mean']) {
    fingerprint[name] = Array.from((await model.params.get(name).data()).slice(0, 8));
  }
  const info = adapter?.info ?? {};
  return { backend: tf.getBackend(), device: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '), losses, fingerprint };
}

(window as unknown as { runStep: () => Promise<unknown> }).runStep = run;
