// The training engine end to end on real images: a short run whose loss falls, resume from a
// checkpoint that lands on exactly the same weights as an uninterrupted run, no tensor leaks,
// backend fallback, WebGPU numerics against the CPU path, and `kill -9` in the middle of
// `loupe train` followed by a resume from the last checkpoint.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { activateBackend, useBackendForTest } from '../core/engine/backends/select.ts';
import { softwareWebGpuEnv } from '../core/engine/backends/webgpu-node.ts';
import { readWeights } from '../core/engine/checkpoint.ts';
import { createTrainingRun } from '../core/engine/jobs.ts';
import { resolveHyperparameters } from '../core/engine/method.ts';
import { findSslMethod } from '../core/engine/methods.ts';
import { buildModel } from '../core/engine/model.ts';
import { defaultOptimizer, Optimizer } from '../core/engine/optim.ts';
import { trainStep } from '../core/engine/step.ts';
import { trainRun, type TrainResult } from '../core/engine/trainer.ts';
import { Host } from '../core/host/host.ts';
import { getMetrics, getRun } from '../core/store/runs.ts';
import { tempDir } from './helpers/corpus.ts';
import { emojiDemoProject } from './helpers/demo.ts';

const bin = path.resolve('bin/loupe.mjs');
const tiny = { epochs: 6, batchSize: 32, imageSize: 24, width: 0.125, learningRate: 3e-3, warmupEpochs: 0, knnEvery: 3, hyperparameters: { hiddenDim: 64, projectionDim: 32 } };

/** A project holding 9 emoji classes × `perClass` real PNGs, imported with folder labels. */
const emojiProject = (perClass: number) => emojiDemoProject('engine', perClass);

async function train(host: Host, runId: number, extra: Partial<Parameters<typeof trainRun>[2]> = {}): Promise<TrainResult> {
  const ctrl = new AbortController();
  return trainRun(host.project, runId, { signal: ctrl.signal, progress: () => {}, ...extra });
}

test('a short run on real images: the loss falls, kNN is measured, an encoder is saved', async () => {
  const { host, dir, datasetId } = await emojiProject(16);
  try {
    const runId = createTrainingRun(host.project, findSslMethod('simclr'), datasetId, tiny);
    const result = await train(host, runId);
    assert.equal(result.stopped, false);
    assert.equal(result.backend, 'native');
    const loss = getMetrics(host.project.db, runId).loss!.map(([, v]) => v);
    const stepsPerEpoch = loss.length / tiny.epochs;
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(loss.slice(0, stepsPerEpoch)), last = mean(loss.slice(-stepsPerEpoch));
    assert.ok(last < first - 0.05, `loss should fall: first epoch ${first.toFixed(3)}, last ${last.toFixed(3)}`);
    const knn = getMetrics(host.project.db, runId).knn!;
    assert.equal(knn.length, 2, 'kNN after epochs 3 and 6');
    assert.ok(knn.every(([, v]) => v > 1 / 9), `kNN accuracy above chance: ${knn.map(([, v]) => v)}`);
    const saved = readWeights<{ method: string; epochs: number; backend: string; dataHash: string }>(path.join(dir, getRun(host.project.db, runId).encoder!));
    assert.equal(saved.metadata.method, 'simclr');
    assert.equal(saved.metadata.epochs, tiny.epochs);
    assert.equal(saved.metadata.backend, 'native');
    assert.match(saved.metadata.dataHash, /^[0-9a-f]{64}$/);
    assert.ok([...saved.tensors.keys()].every((k) => k.startsWith('encoder/')));
    tf.dispose([...saved.tensors.values()]);
  } finally {
    host.close();
  }
});

test('resuming from a checkpoint continues exactly where an uninterrupted run would be (SimCLR; SeLa with its labels as state)', async () => {
  const { host, dir, datasetId } = await emojiProject(8);
  try {
    for (const [id, hyperparameters] of [['simclr', tiny.hyperparameters], ['sela', { clusters: 8, labelUpdates: 4 }]] as const) {
      // SeLa over 6 steps re-solves its labels before steps 0, 1 and 3: paused at step 2, the resumed
      // run must train step 2 on the labels solved at step 1, restored from the checkpoint.
      const config = { ...tiny, epochs: 3, knnEvery: 0, hyperparameters };
      const straight = createTrainingRun(host.project, findSslMethod(id), datasetId, config);
      const a = await train(host, straight);

      const interrupted = createTrainingRun(host.project, findSslMethod(id), datasetId, config);
      const ctrl = new AbortController();
      const partial = await trainRun(host.project, interrupted, {
        signal: ctrl.signal, progress: () => {}, checkpointEverySteps: 2,
        onStep: (step) => { if (step === 2) ctrl.abort(); }, // a pause: checkpoint at step 2, then stop
      });
      assert.equal(partial.stopped, true);
      assert.equal(getRun(host.project.db, interrupted).step, 2);
      const b = await train(host, interrupted);
      assert.equal(b.steps, a.steps);

      const wa = readWeights(path.join(dir, getRun(host.project.db, straight).encoder!));
      const wb = readWeights(path.join(dir, getRun(host.project.db, interrupted).encoder!));
      for (const [name, t] of wa.tensors) {
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(t, wb.tensors.get(name)!))).dataSync()[0]!);
        assert.ok(diff <= 1e-6, `${id}: ${name} differs by ${diff}`);
      }
      const lossA = getMetrics(host.project.db, straight).loss!, lossB = getMetrics(host.project.db, interrupted).loss!;
      assert.deepEqual(lossB.map(([s]) => s), lossA.map(([s]) => s), 'one loss point per step, none repeated');
      tf.dispose([...wa.tensors.values(), ...wb.tensors.values()]);
    }
  } finally {
    host.close();
  }
});

test('a checkpoint that lacks a part the method now has is refused with what to do, not resumed with that part at random', async () => {
  const { host, datasetId } = await emojiProject(8);
  try {
    // A SeLa run started without the projector, then (as after an update that added it) resumed with it.
    const config = { ...tiny, epochs: 3, knnEvery: 0, hyperparameters: { clusters: 8, labelUpdates: 4, projector: false } };
    const runId = createTrainingRun(host.project, findSslMethod('sela'), datasetId, config);
    const ctrl = new AbortController();
    await trainRun(host.project, runId, { signal: ctrl.signal, progress: () => {}, checkpointEverySteps: 2, onStep: (step) => { if (step === 2) ctrl.abort(); } });
    assert.equal(getRun(host.project.db, runId).step, 2);
    const stored = getRun<{ hyperparameters: Record<string, unknown> }>(host.project.db, runId).config;
    host.project.db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify({ ...stored, hyperparameters: { ...stored.hyperparameters, projector: true } }), runId);
    await assert.rejects(train(host, runId), (err: Error & { hint?: string }) => {
      assert.match(err.message, /checkpoint does not fit SeLa .*method\/projector\//);
      assert.match(err.hint ?? '', /Start a new run/);
      return true;
    });
    assert.equal(getRun(host.project.db, runId).step, 2, 'the checkpoint is kept');
  } finally {
    host.close();
  }
});

test('DINO keeps its teacher as the result; a run started from another run\'s encoder starts its teachers there too', async () => {
  const { host, dir, datasetId } = await emojiProject(8);
  const relDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0]! / Math.max(1e-12, tf.norm(b).dataSync()[0]!));
  try {
    const dinoRun = createTrainingRun(host.project, findSslMethod('dino'), datasetId, { ...tiny, epochs: 2, knnEvery: 0, hyperparameters: { outDim: 32, localCrops: 0 } });
    await train(host, dinoRun);
    const run = getRun(host.project.db, dinoRun);
    const ckpt = readWeights(path.join(dir, run.checkpoint!)), saved = readWeights(path.join(dir, run.encoder!));
    let studentDiffers = false;
    for (const [name, t] of saved.tensors) {
      const rest = name.slice('encoder/'.length);
      assert.equal(relDiff(t, ckpt.tensors.get(`teacher/${rest}`)!), 0, `${name} is the teacher's`);
      if (relDiff(t, ckpt.tensors.get(`encoder/${rest}`)!) > 1e-3) studentDiffers = true;
    }
    assert.ok(studentDiffers, 'the student has moved away from the teacher');

    // BYOL from the DINO run's encoder, paused after one step: its EMA target is that encoder
    // (moved by a single EMA step), not the random init it was built with (another seed than the DINO run's).
    const byolRun = createTrainingRun(host.project, findSslMethod('byol'), datasetId, { ...tiny, epochs: 2, knnEvery: 0, seed: 11, initFromRun: dinoRun });
    const ctrl = new AbortController();
    await trainRun(host.project, byolRun, { signal: ctrl.signal, progress: () => {}, checkpointEverySteps: 1, onStep: (step) => { if (step === 1) ctrl.abort(); } });
    const paused = readWeights(path.join(dir, getRun(host.project.db, byolRun).checkpoint!));
    const kernels = [...saved.tensors.keys()].filter((name) => name.endsWith('kernel'));
    assert.ok(kernels.length > 5);
    for (const name of kernels) {
      const d = relDiff(paused.tensors.get(`teacher/${name.slice('encoder/'.length)}`)!, saved.tensors.get(name)!);
      assert.ok(d < 0.05, `BYOL's target ${name} is ${d.toFixed(3)} (relative) from the encoder it started from`);
    }
    tf.dispose([...ckpt.tensors.values(), ...saved.tensors.values(), ...paused.tensors.values()]);
  } finally {
    host.close();
  }
});

test('a training job (in its worker thread) pauses with a checkpoint and resumes through the job runner', async () => {
  const { host, datasetId } = await emojiProject(8);
  try {
    // Enough steps that the pause, sent at step 2, lands before the end on a fast machine too (it
    // flaked with 8 steps: the run finished first).
    const runId = createTrainingRun(host.project, findSslMethod('simclr'), datasetId, { ...tiny, epochs: 12, knnEvery: 0 });
    const jobId = host.startTraining(runId);
    await new Promise<void>((resolve) => {
      const onJob = (job: { id: number; done: number; state: string }) => {
        if (job.id === jobId && job.state === 'running' && job.done >= 2) {
          host.jobs.off('job', onJob);
          resolve();
        }
      };
      host.jobs.on('job', onJob);
    });
    host.jobs.pause(jobId);
    const paused = await host.jobs.waitFor(jobId);
    assert.equal(paused.state, 'paused');
    const at = getRun(host.project.db, runId).step;
    assert.ok(at >= 2 && at < paused.total!, `checkpoint at step ${at}`);
    host.jobs.resume(jobId);
    const done = await host.jobs.waitFor(jobId);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal((done.result as TrainResult).steps, done.total);
    assert.ok(getRun(host.project.db, runId).encoder);
  } finally {
    host.close();
  }
});

test('training steps do not leak tensors', async () => {
  await useBackendForTest('native');
  const method = findSslMethod('simclr');
  const model = buildModel(method, { arch: 'resnet18', width: 0.125, inputSize: 16, inChannels: 3 }, resolveHyperparameters(method, {}), 1);
  const optimizer = new Optimizer(defaultOptimizer);
  const views = [tf.randomUniform([8, 16, 16, 3]), tf.randomUniform([8, 16, 16, 3])] as tf.Tensor4D[];
  trainStep(model, optimizer, views, 0, 10, 1e-3).dispose(); // creates the optimiser's slots
  const before = tf.memory().numTensors;
  for (let s = 1; s < 6; s++) trainStep(model, optimizer, views, s, 10, 1e-3).dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(views);
  optimizer.dispose();
  model.dispose();
});

test('a per-parameter learning rate: a frozen parameter keeps its value and state; its first step is a fresh Adam step, across a checkpoint', async () => {
  await useBackendForTest('cpu');
  const w = () => new Map([['a', tf.variable(tf.tensor1d([1, 2]))], ['b', tf.variable(tf.tensor1d([1, 2]))]]);
  const grads = () => ({ a: tf.tensor1d([0.5, -3]), b: tf.tensor1d([0.5, -3]) });
  const vars = w(), opt = new Optimizer({ ...defaultOptimizer, name: 'adam' });
  const lr = 0.1, frozenUntil = 3;
  for (let s = 0; s < frozenUntil; s++) {
    const g = grads();
    opt.apply(vars, g, (name) => (name === 'b' ? 0 : lr));
    tf.dispose(Object.values(g));
  }
  assert.deepEqual(Array.from(vars.get('b')!.dataSync()), [1, 2], 'frozen: unchanged');
  assert.ok(!opt.state.has('b/m'), 'frozen: no Adam moments');
  assert.notDeepEqual(Array.from(vars.get('a')!.dataSync()), [1, 2]);
  // Through a checkpoint: the skip count travels with the optimiser's tensors.
  const saved = new Map(opt.tensors().map(([name, t]) => [name, t.clone()] as [string, tf.Tensor]));
  const resumed = new Optimizer({ ...defaultOptimizer, name: 'adam' });
  resumed.restore(saved, opt.step);
  tf.dispose([...saved.values()]);
  const g = grads();
  resumed.apply(vars, g, lr);
  tf.dispose(Object.values(g));
  // Adam's first step moves each weight by lr · sign(g) (bias-corrected m / √v = ±1); counted from
  // the optimiser's step 4 it would be lr · 0.1/(1 − 0.9⁴) / √(0.001/(1 − 0.999⁴)) ≈ 2.9 · lr.
  const b = Array.from(vars.get('b')!.dataSync());
  assert.ok(Math.abs(b[0]! - (1 - lr)) < 1e-4 && Math.abs(b[1]! - (2 + lr)) < 1e-4, `first step of b: ${b}`);
  opt.dispose();
  resumed.dispose();
  for (const v of vars.values()) v.dispose();
});

test('SimSiam keeps its predictor at the peak rate; DINO and SwAV freeze their prototypes for the first epoch', () => {
  const build = (id: string) => {
    const method = findSslMethod(id);
    return buildModel(method, { arch: 'resnet18', width: 0.125, inputSize: 16, inChannels: 3 }, resolveHyperparameters(method, id === 'dino' ? { outDim: 32 } : {}), 1);
  };
  const simsiam = build('simsiam'), dino = build('dino'), swav = build('swav');
  try {
    const late = { step: 90, totalSteps: 100, epoch: 4.5, peak: 0.1 };
    assert.equal(simsiam.method.learningRate!('method/predictor/fc0/kernel', 0.01, late), 0.1);
    assert.equal(simsiam.method.learningRate!('encoder/stem/conv/kernel', 0.01, late), 0.01);
    const early = { step: 5, totalSteps: 100, epoch: 0.5, peak: 5e-4 };
    assert.equal(dino.method.learningRate!('method/head/prototypes/kernel', 1e-4, early), 0);
    assert.equal(dino.method.learningRate!('method/head/fc0/kernel', 1e-4, early), 1e-4);
    assert.equal(dino.method.learningRate!('method/head/prototypes/kernel', 1e-4, { ...early, epoch: 1 }), 1e-4);
    // The names it freezes exist: a renamed parameter would silently never be frozen.
    assert.ok(dino.params.trainable.has('method/head/prototypes/kernel'));
    assert.equal(swav.method.learningRate!('method/prototypes/kernel', 1e-3, { ...early, epoch: 0.99 }), 0);
    assert.equal(swav.method.learningRate!('method/prototypes/kernel', 1e-3, { ...early, epoch: 1.01 }), 1e-3);
    assert.ok(swav.params.trainable.has('method/prototypes/kernel'));
    assert.ok([...simsiam.params.trainable.keys()].some((n) => n.startsWith('method/predictor/')));
  } finally {
    for (const m of [simsiam, dino, swav]) m.dispose();
  }
});

function childStep(backend: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tests/helpers/one-step.ts', backend], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { backend: string; device: string; losses: number[]; fingerprint: Record<string, number[]> };
}

function assertSameTraining(a: ReturnType<typeof childStep>, b: ReturnType<typeof childStep>, tol: number): void {
  a.losses.forEach((l, i) => assert.ok(Math.abs(l - b.losses[i]!) <= tol * Math.max(1, Math.abs(l)), `loss ${i}: ${l} vs ${b.losses[i]}`));
  for (const [name, values] of Object.entries(a.fingerprint)) {
    values.forEach((v, i) => assert.ok(Math.abs(v - b.fingerprint[name]![i]!) <= tol * Math.max(1, Math.abs(v)), `${name}[${i}]: ${v} vs ${b.fingerprint[name]![i]}`));
  }
}

test('the native and wasm paths train like the reference cpu backend (same seed, two steps)', () => {
  const reference = childStep('cpu');
  assertSameTraining(childStep('native'), reference, 1e-4);
  assertSameTraining(childStep('wasm'), reference, 1e-4);
});

const swiftshader = softwareWebGpuEnv();
test('WebGPU (Dawn on SwiftShader) trains like the cpu backend', { skip: swiftshader ? false : 'no WebGPU adapter here: Debian chromium\'s SwiftShader is not installed' }, () => {
  const gpu = childStep('webgpu', swiftshader!);
  assert.equal(gpu.backend, 'webgpu');
  assert.match(gpu.device, /swiftshader/i);
  assertSameTraining(gpu, childStep('cpu'), 1e-4);
});

test('a backend that fails to start is reported and the next one is used', async () => {
  const garbage = path.join(tempDir('loupe-bad-native'), 'loupe_kernels.node');
  fs.writeFileSync(garbage, 'not a shared library');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
    const { activateBackend, probeBackends } = await import('./core/engine/backends/select.ts');
    const report = (await probeBackends()).find((b) => b.name === 'native');
    const active = await activateBackend();
    let strict = null;
    try { await activateBackend('native', { strict: true }); } catch (e) { strict = e.message; }
    console.log(JSON.stringify({ report, active, strict }));`], {
    encoding: 'utf8', env: { ...process.env, LOUPE_NATIVE_LIBRARY: garbage, LOUPE_DISABLE_BACKENDS: 'webgpu' },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.report.available, false);
  assert.match(out.report.note, /did not load/);
  assert.equal(out.active.name, 'wasm');
  assert.deepEqual(out.active.skipped.map((s: { name: string }) => s.name), ['webgpu', 'tensorflow', 'native']);
  assert.match(out.active.skipped[2].reason, /did not load/);
  assert.match(out.strict, /native backend is not available here/);
  await activateBackend('native');
});

test('loupe train survives kill -9 and resumes from its last checkpoint; embed and eval knn work on the result', async () => {
  const { host, dir } = await emojiProject(12);
  host.close();
  const args = [bin, 'train', dir, '--epochs', '8', '--batch', '32', '--size', '24', '--width', '0.125', '--knn-every', '0',
    '--checkpoint-minutes', '0.002', '--hp', 'hiddenDim=64', '--hp', 'projectionDim=32', '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kill it once a checkpoint past the first one is on disk.
  const db = (await import('better-sqlite3')).default;
  const deadline = Date.now() + 120_000;
  let checkpointStep = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    try {
      const conn = new db(path.join(dir, 'loupe.db'), { readonly: true });
      const row = conn.prepare('SELECT step, total_steps AS total FROM runs ORDER BY id DESC LIMIT 1').get() as { step: number; total: number } | undefined;
      conn.close();
      if (row && row.step >= 4) {
        checkpointStep = row.step;
        assert.ok(row.step < row.total, 'killed before the end');
        break;
      }
    } catch {
      // the database may be mid-migration
    }
  }
  assert.ok(checkpointStep > 0, 'a checkpoint was written');
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));

  const resumed = spawnSync(process.execPath, [bin, 'train', dir, '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
  assert.match(resumed.stderr, /Resuming/);
  const result = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!);
  assert.equal(result.ok, true);
  assert.equal(result.stopped, false);

  const check = new Host({ projectDir: dir, userDir: tempDir('loupe-user'), transport: 'http', create: false, autoResume: false });
  let usable = 0;
  try {
    usable = (check.project.db.prepare("SELECT COUNT(*) AS n FROM images WHERE status = 'ok'").get() as { n: number }).n;
    const loss = getMetrics(check.project.db, result.runId).loss!;
    assert.equal(loss.length, result.steps, 'every step has exactly one loss point');
    assert.deepEqual(loss.map(([s]) => s), Array.from({ length: result.steps }, (_, i) => i + 1));
  } finally {
    check.close();
  }

  const embed = spawnSync(process.execPath, [bin, 'embed', dir, '--json'], { encoding: 'utf8' });
  assert.equal(embed.status, 0, embed.stderr);
  const e = JSON.parse(embed.stdout.trim().split('\n').at(-1)!);
  assert.equal(e.count, usable);
  assert.equal(fs.statSync(path.join(dir, e.file)).size, e.count * e.dim * 4);

  const knn = spawnSync(process.execPath, [bin, 'eval', 'knn', dir, '--json'], { encoding: 'utf8' });
  assert.equal(knn.status, 0, knn.stderr);
  const k = JSON.parse(knn.stdout.trim().split('\n').at(-1)!);
  assert.equal(k.protocol, 'leave-one-out');
  assert.equal(k.classes, 9);
  assert.ok(k.accuracy > 1 / 9 && k.accuracy <= 1, `kNN accuracy ${k.accuracy}`);
});
