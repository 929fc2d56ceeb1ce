/**
 * `npm run bench -- train [--configs 32:64,32:128,96:64,96:128] [--seconds 8] [--backends native,wasm]`
 *
 * Steady-state training throughput of the SimCLR step (narrow ResNet-18, width 0.25; NT-Xent over
 * both views in one pass; Adam) per available backend, side by side in one run with the PyTorch
 * reference of the identical model/loss/batch/optimiser (Debian python3-torch, 2 threads, and
 * channels-last). Both sides time steps on fixed random views, so the ratio compares the compute,
 * not data loading; "with augmentation" adds Loupe's own per-step augmentation of two views.
 * Target for the CPU path: ≥ 0.5× PyTorch at the same thread count, ≥ 1.0× as the goal.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { augmentBatch } from '../core/engine/augment.ts';
import { activateBackend, probeBackends, type BackendName } from '../core/engine/backends/select.ts';
import { loadNativeKernels } from '../core/engine/backends/native-kernels.ts';
import { resolveHyperparameters } from '../core/engine/method.ts';
import { buildModel } from '../core/engine/model.ts';
import { defaultOptimizer, Optimizer } from '../core/engine/optim.ts';
import { Rng } from '../core/engine/rng.ts';
import { trainStep } from '../core/engine/step.ts';
import { simclr } from '../plugins/ssl/simclr.ts';
import { option } from './args.ts';

const PYTHON = '/usr/bin/python3';
const THREADS = 2;

interface Measured {
  backend: string;
  size: number;
  batch: number;
  secondsPerStep: number;
  imagesPerSecond: number;
  steps: number;
  augmented: boolean;
}

async function measure(backend: BackendName, size: number, batch: number, seconds: number, augmented: boolean, minSteps = 4): Promise<Measured> {
  await activateBackend(backend, { strict: true });
  const hp = resolveHyperparameters(simclr, {});
  const model = buildModel(simclr, { arch: 'resnet18', width: 0.25, inputSize: size, inChannels: 3 }, hp, 0);
  const optimizer = new Optimizer({ ...defaultOptimizer, name: 'adam', weightDecay: 0 });
  const views = [simclr.views(size, hp)[0]!, simclr.views(size, hp)[1]!];
  const fixed = [tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 1), tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 2)] as tf.Tensor4D[];
  const source = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const once = async (step: number) => {
    const inputs = augmented ? views.map((v, i) => augmentBatch(source, v, Rng.derive(0, `view${i}`, step), norm)) : fixed;
    const loss = trainStep(model, optimizer, inputs, step, 1000, 1e-3);
    await loss.data();
    loss.dispose();
    if (augmented) tf.dispose(inputs);
  };
  for (let s = 0; s < 2; s++) await once(s);
  const tensors = tf.memory().numTensors;
  let steps = 0;
  const start = performance.now();
  while (steps < minSteps || performance.now() - start < seconds * 1000) await once(2 + steps++);
  const elapsed = (performance.now() - start) / 1000;
  if (tf.memory().numTensors !== tensors) console.warn(`  warning: ${tf.memory().numTensors - tensors} tensors leaked over ${steps} steps`);
  tf.dispose([...fixed, source]);
  optimizer.dispose();
  model.dispose();
  return { backend, size, batch, secondsPerStep: elapsed / steps, imagesPerSecond: (batch * steps) / elapsed, steps, augmented };
}

interface Reference {
  size: number;
  batch: number;
  channelsLast: boolean;
  imagesPerSecond: number;
  secondsPerStep: number;
}

function ensureTorch(): string | null {
  const probe = () => spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  let r = probe();
  if (r.status === 0) return r.stdout.trim();
  console.log('Installing the PyTorch reference (Debian python3-torch)…');
  spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'ignore' });
  r = probe();
  return r.status === 0 ? r.stdout.trim() : null;
}

function reference(configs: [number, number][], seconds: number): Reference[] | string {
  const version = ensureTorch();
  if (!version) return 'reference unavailable: python3-torch could not be installed';
  const script = path.join(import.meta.dirname, 'reference', 'simclr_step.py');
  const r = spawnSync(PYTHON, [script, '--configs', configs.map(([s, b]) => `${s}:${b}`).join(','), '--threads', String(THREADS), '--seconds', String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) return `reference failed: ${r.stderr.trim().split('\n').at(-1)}`;
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Reference);
}

export async function run(args: string[]): Promise<void> {
  const configs = option(args, 'configs', '32:64,32:128,96:64,96:128').split(',').map((c) => c.split(':').map(Number) as [number, number]);
  const seconds = Number(option(args, 'seconds', '8'));
  const available = (await probeBackends()).filter((b) => b.available && b.name !== 'cpu');
  const wanted = option(args, 'backends', available.map((b) => b.name).join(',')).split(',') as BackendName[];
  const native = loadNativeKernels();
  if (native.ok) native.kernels.configure(THREADS, '');
  console.log(`Machine: ${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} cores; native kernels ${native.ok ? JSON.stringify(native.kernels.info()) : 'unavailable'}`);
  console.log(`Backends measured: ${wanted.join(', ')} (unavailable: ${(await probeBackends()).filter((b) => !b.available).map((b) => `${b.name} — ${b.note}`).join('; ') || 'none'})\n`);

  const ours: Measured[] = [];
  for (const backend of wanted) {
    for (const [size, batch] of configs) {
      // The single-threaded fallbacks are an order of magnitude slower: a few steps tell enough.
      const slow = backend === 'wasm' || (available.find((b) => b.name === backend)?.device ?? '').includes('software');
      if (slow && (size > 32 || batch > 64)) continue;
      ours.push(await measure(backend, size, batch, slow ? 2 : seconds, false, slow ? 2 : 4));
      if (backend === 'native') ours.push(await measure(backend, size, batch, seconds, true));
      console.log(`  measured ${backend} ${size}px batch ${batch}`);
    }
  }
  const ref = reference(configs, seconds);

  console.log('\nSimCLR training step, narrow ResNet-18 (width 0.25), Adam — images per second (batch images, 2 views each)\n');
  const header = ['config', 'backend', 'img/s', 's/step', 'PyTorch 2 thr', 'ours/pytorch', 'PyTorch channels-last', 'ours/pytorch-cl'];
  const rows: string[][] = [];
  for (const m of ours) {
    const r = typeof ref === 'string' ? [] : ref;
    const plain = r.find((x) => x.size === m.size && x.batch === m.batch && !x.channelsLast);
    const cl = r.find((x) => x.size === m.size && x.batch === m.batch && x.channelsLast);
    rows.push([
      `${m.size}px, batch ${m.batch}`, `${m.backend}${m.augmented ? ' + augmentation' : ''}`, m.imagesPerSecond.toFixed(1), m.secondsPerStep.toFixed(3),
      plain ? plain.imagesPerSecond.toFixed(1) : '—', plain ? `${(m.imagesPerSecond / plain.imagesPerSecond).toFixed(2)}×` : '—',
      cl ? cl.imagesPerSecond.toFixed(1) : '—', cl ? `${(m.imagesPerSecond / cl.imagesPerSecond).toFixed(2)}×` : '—',
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  if (typeof ref === 'string') console.log(`\nPyTorch: ${ref}`);
  console.log(`\nPyTorch ${THREADS} threads (Debian python3-torch, ${PYTHON}); target: CPU path ≥ 0.5× PyTorch CPU, goal ≥ 1.0×.`);
}
