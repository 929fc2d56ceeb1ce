// The training loop of a run, as the body of a resumable job. It owns the data, augmentation,
// optimiser, schedule, checkpoints and metrics; the method only computes the loss (DESIGN §3).
//
// Reproducible and resumable: the batch order of epoch e is a permutation seeded by (seed, e), the
// augmentations of step s are seeded by (seed, s) and the learning rate is a function of s, so a
// run restored from its checkpoint at step s continues exactly as if it had never stopped.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LoupeError } from '../errors.ts';
import type { Metrics } from '../jobs/runner.ts';
import { addMetrics, getRun, truncateMetrics, updateRun, type MetricPoint } from '../store/runs.ts';
import type { Project } from '../store/project.ts';
import { augmentBatch } from './augment.ts';
import { activateBackend } from './backends/select.ts';
import { readWeights, writeWeights } from './checkpoint.ts';
import { trainConfigSchema, type TrainConfig } from './config.ts';
import { effectiveRank, featureSpread } from './collapse.ts';
import { CacheReader, ensureTrainingCache, type TrainingCache } from './data/cache.ts';
import { encodeRows } from './features.ts';
import { knnAccuracy } from './knn.ts';
import { labelBatching } from './label-batches.ts';
import { loadLabels, loadTrainingLabels, type TrainingLabels } from './labels.ts';
import { resolveHyperparameters, type HyperValue, type SslMethod } from './method.ts';
import { findSslMethod } from './methods.ts';
import { buildModel, encoderTensors, loadInto, type BuiltModel } from './model.ts';
import type { EncoderConfig } from './nn/resnet.ts';
import { defaultOptimizer, learningRateAt, Optimizer } from './optim.ts';
import { Rng } from './rng.ts';
import { trainStep } from './step.ts';

export interface TrainIo {
  signal: AbortSignal;
  progress(done: number, total: number | null, metrics: Metrics): void;
  /** Methods from user plugins, besides the built-in ones. */
  methods?: SslMethod[];
  /** Tests: write a checkpoint every this many steps, besides the timed ones. */
  checkpointEverySteps?: number;
  /** Tests: stop (as if killed) right after this step is done and checkpointed. */
  onStep?(step: number): void;
}

export interface TrainResult {
  runId: number;
  steps: number;
  epochs: number;
  finalLoss: number | null;
  knn: number | null;
  imagesPerSecond: number | null;
  backend: string;
  device: string;
  encoder: string | null;
  stopped: boolean;
}

export interface CheckpointMetadata {
  format: 'loupe-checkpoint';
  version: 1;
  runId: number;
  step: number;
  epoch: number;
  totalSteps: number;
  optimizerStep: number;
  config: TrainConfig;
  hyperparameters: Record<string, HyperValue>;
  backend: string;
  device: string;
  dataHash: string;
  savedAt: string;
}

export interface EncoderMetadata {
  format: 'loupe-encoder';
  version: 1;
  runId: number;
  method: string;
  hyperparameters: Record<string, HyperValue>;
  config: TrainConfig;
  encoder: EncoderConfig;
  featureDim: number;
  normalization: { mean: number[]; std: number[] };
  epochs: number;
  steps: number;
  backend: string;
  device: string;
  dataHash: string;
  savedAt: string;
}

const runDir = (project: Project, runId: number) => path.join(project.dir, 'checkpoints', `run${runId}`);

function permutation(seed: number, epoch: number, n: number): number[] {
  return Rng.derive(seed, 'epoch', epoch).shuffle(Array.from({ length: n }, (_, i) => i));
}

/**
 * Up to `limit` labelled cache rows for the kNN monitor, with their class index. A run that learns
 * from labels is monitored only on labelled images it does not train on (a held-out split):
 * on its own training labels the curve would show how well it memorises them.
 */
function knnRows(project: Project, cache: TrainingCache, seed: number, trainedOn?: TrainingLabels, limit = 2000): { rows: number[]; labels: Int32Array } | null {
  const labels = loadLabels(project.db, cache.datasetId);
  if (labels.classNames.length < 2) return null;
  const candidates: number[] = [];
  cache.imageIds.forEach((id, row) => {
    if (labels.byImage.has(id) && !(trainedOn && trainedOn.classOf[row]! >= 0)) candidates.push(row);
  });
  if (candidates.length < 10) return null;
  const rows = Rng.derive(seed, 'knn').shuffle(candidates).slice(0, limit).sort((a, b) => a - b);
  return { rows, labels: Int32Array.from(rows, (r) => labels.byImage.get(cache.imageIds[r]!)!) };
}

/**
 * The labels a run that learns from labels trains on: read from the store when it first starts
 * and kept beside its checkpoints, so a resumed run goes on with the labels it began with (labels
 * the person changes meanwhile would otherwise reshape its head or swap its classes mid-run).
 */
function runLabels(project: Project, runId: number, datasetId: number, imageIds: readonly number[], method: SslMethod): TrainingLabels {
  const file = path.join(runDir(project, runId), 'labels.json');
  const resumed = fs.existsSync(file);
  let labels: TrainingLabels;
  if (resumed) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { classNames: string[]; labels: [number, number, number][] };
    const byImage = new Map(saved.labels.map(([id, c, p]) => [id, [c, p] as const]));
    labels = { classNames: saved.classNames, classOf: new Int32Array(imageIds.length).fill(-1), confidence: new Float32Array(imageIds.length) };
    imageIds.forEach((id, row) => {
      const l = byImage.get(id);
      if (l) (labels.classOf[row] = l[0]), (labels.confidence[row] = l[1]);
    });
  } else {
    labels = loadTrainingLabels(project.db, datasetId, imageIds);
  }
  const labelled = labels.classOf.filter((c) => c >= 0).length;
  if (labels.classNames.length < 2 || labelled < 2) {
    throw new LoupeError('invalid-input', `${method.name} needs labelled images of at least two classes to learn from; this dataset has ${labelled} labelled image${labelled === 1 ? '' : 's'}${labels.classNames.length ? ` of ${labels.classNames.length} class${labels.classNames.length === 1 ? '' : 'es'}` : ''} outside the validation and test splits.`, {
      hint: 'Label images (Label view), name clusters (Explore), or apply a weak-supervision session\'s labels, then start the run again.',
    });
  }
  if (!resumed) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const list: [number, number, number][] = [];
    imageIds.forEach((id, row) => {
      if (labels.classOf[row]! < 0) return;
      // Rounded as saved, so a resumed run trains on exactly what the uninterrupted one did.
      labels.confidence[row] = Math.round(labels.confidence[row]! * 1e4) / 1e4;
      list.push([id, labels.classOf[row]!, labels.confidence[row]!]);
    });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ classNames: labels.classNames, labels: list }));
    fs.renameSync(`${file}.tmp`, file);
  }
  return labels;
}

export async function trainRun(project: Project, runId: number, io: TrainIo): Promise<TrainResult> {
  const run = getRun(project.db, runId);
  const parsed = trainConfigSchema.safeParse(run.config);
  if (!parsed.success) throw new LoupeError('invalid-input', `Run ${runId} has an invalid configuration: ${parsed.error.issues[0]?.message}.`);
  const cfg = parsed.data;
  const method = findSslMethod(cfg.method, io.methods);
  const hp = resolveHyperparameters(method, cfg.hyperparameters);

  const backend = await activateBackend(cfg.backend);
  updateRun(project.db, runId, { backend: backend.name, device: backend.device });

  const cache = await ensureTrainingCache(project, cfg.datasetId, cfg.imageSize, {
    signal: io.signal,
    onProgress: (p) => io.progress(0, null, { phase: 'Preparing images', prepared: p.done, toPrepare: p.total }),
  });
  const reader = new CacheReader(cache);
  const n = reader.length;
  if (n < 2) throw new LoupeError('invalid-input', 'Training needs at least 2 usable images.', { hint: 'Import more images into this dataset.' });
  const labels = method.needsLabels ? runLabels(project, runId, cfg.datasetId, cache.imageIds, method) : undefined;
  // A method that learns from labels steps through its labelled images only (an epoch is one pass
  // over them): in batches of all images, 80 labels among 4,000 left about one labelled image a
  // batch, and the rest of each step was spent on images that add nothing to the loss. While labels
  // are few, batches shrink (to 16 at least) so an epoch still has 4 steps (labelBatching). Fashion-MNIST, the 80
  // images of 50 active-labelling picks, 30 epochs from the bench's SimCLR run, then the end model
  // on the new embedding (3 draws): 75.6% frozen → 76.8% at batch 20 (120 steps, 90 s; each draw
  // +0.7 to +1.7), → 76.4% at batch 64 and 60 epochs (60 steps, 171 s; −0.6 to +1.8).
  const pool = labels ? Array.from({ length: n }, (_, r) => r).filter((r) => labels.classOf[r]! >= 0 && labels.confidence[r]! > 0) : null;
  const m = pool ? pool.length : n;
  const batch = pool ? labelBatching(m, cfg.batchSize).batch : Math.max(2, Math.min(cfg.batchSize, n));
  const stepsPerEpoch = Math.max(1, Math.floor(m / batch));
  const totalSteps = cfg.epochs * stepsPerEpoch;
  const warmupSteps = Math.round(cfg.warmupEpochs * stepsPerEpoch);
  updateRun(project.db, runId, { totalSteps, dataHash: cache.dataHash });

  const encoderConfig: EncoderConfig = { arch: 'resnet18', width: cfg.width, inputSize: cfg.imageSize, inChannels: cache.channels };
  const model: BuiltModel = buildModel(method, encoderConfig, hp, cfg.seed, n, labels);
  const optimizer = new Optimizer({ ...defaultOptimizer, name: cfg.optimizer, weightDecay: cfg.weightDecay });
  const stateTensors = () => model.method.stateTensors?.() ?? [];
  const views = method.views(cfg.imageSize, hp);
  const knn = knnRows(project, cache, cfg.seed, labels);
  const pending: MetricPoint[] = [];
  const flush = () => {
    if (pending.length) addMetrics(project.db, runId, pending.splice(0));
  };

  let step = 0;
  let lastCheckpointStep = -1;
  try {
    if (!run.checkpoint && cfg.initFromRun !== undefined) {
      const from = getRun<TrainConfig>(project.db, cfg.initFromRun);
      if (!from.encoder) throw new LoupeError('invalid-input', `Run ${cfg.initFromRun} has no finished encoder to start from.`, { hint: 'Pick a finished run, or start from scratch.' });
      const saved = readWeights<EncoderMetadata>(path.join(project.dir, from.encoder));
      try {
        const enc = saved.metadata.encoder;
        if (enc.width !== encoderConfig.width || enc.inChannels !== encoderConfig.inChannels) {
          throw new LoupeError('invalid-input', `Run ${cfg.initFromRun}'s encoder (width ${enc.width}, ${enc.inChannels} channels) does not fit this run (width ${encoderConfig.width}, ${encoderConfig.inChannels} channels).`, { hint: 'Use the same width as the run you start from.' });
        }
        // Encoder weights only; the method's heads start fresh.
        loadInto(model.params, new Map([...saved.tensors].filter(([name]) => name.startsWith('encoder/'))), { requirePrefix: 'encoder/' });
        // Teachers (EMA, momentum encoders) were copied from the random init: they start from these weights too.
        model.recopyTeachers();
      } finally {
        tf.dispose([...saved.tensors.values()]);
      }
    }
    if (run.checkpoint) {
      const saved = readWeights<CheckpointMetadata>(path.join(project.dir, run.checkpoint));
      try {
        try {
          // Every parameter, not only the encoder's: a method that gained a part since the run
          // started would otherwise resume with that part silently at its initial values.
          loadInto(model.params, saved.tensors, { requirePrefix: '' });
        } catch (err) {
          throw new LoupeError('invalid-input', `Run ${runId}'s last checkpoint does not fit ${method.name} as it is now (${(err as Error).message}).`, {
            hint: 'The method changed since this run started. Start a new run; it can begin from an earlier run\'s finished encoder.', cause: err,
          });
        }
        const opt = new Map<string, tf.Tensor>();
        for (const [name, t] of saved.tensors) if (name.startsWith('optimizer/')) opt.set(name.slice('optimizer/'.length), t);
        optimizer.restore(opt, saved.metadata.optimizerStep);
        for (const [name, v] of stateTensors()) {
          const t = saved.tensors.get(`method-state/${name}`);
          if (t) v.assign(t);
        }
      } finally {
        tf.dispose([...saved.tensors.values()]);
      }
      step = saved.metadata.step;
      lastCheckpointStep = step;
      truncateMetrics(project.db, runId, step);
    }

    const checkpoint = async () => {
      if (step === lastCheckpointStep) return;
      flush();
      const dir = path.join(runDir(project, runId), `step-${String(step).padStart(8, '0')}`);
      const tensors: [string, tf.Tensor][] = [
        ...model.params.all(),
        ...optimizer.tensors().map(([name, t]) => [`optimizer/${name}`, t] as [string, tf.Tensor]),
        ...stateTensors().map(([name, t]) => [`method-state/${name}`, t] as [string, tf.Tensor]),
      ];
      const metadata: CheckpointMetadata = {
        format: 'loupe-checkpoint', version: 1, runId, step, epoch: step / stepsPerEpoch, totalSteps, optimizerStep: optimizer.step,
        config: cfg, hyperparameters: hp, backend: backend.name, device: backend.device, dataHash: cache.dataHash, savedAt: new Date().toISOString(),
      };
      await writeWeights(dir, 'loupe-checkpoint', tensors, metadata);
      updateRun(project.db, runId, { checkpoint: path.relative(project.dir, dir), step });
      // Keep the newest two, in case the newest is on a disk that later turns out to be failing.
      const all = fs.readdirSync(runDir(project, runId)).filter((d) => /^step-\d+$/.test(d)).sort();
      for (const old of all.slice(0, -2)) fs.rmSync(path.join(runDir(project, runId), old), { recursive: true, force: true });
      lastCheckpointStep = step;
    };

    const evaluate = async (atStep: number) => {
      io.progress(atStep, totalSteps, { phase: 'Evaluating' });
      // Collapse indicators on a fixed sample, with or without labels.
      const sample = Rng.derive(cfg.seed, 'spread').shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, 512).sort((a, b) => a - b);
      // Measured on the run's result: the output encoder (DINO's teacher), not necessarily the one trained.
      const out = model.output.encoder;
      const sampled = await encodeRows(out, reader, sample);
      pending.push({ name: 'spread', step: atStep, value: featureSpread(sampled, out.featureDim) });
      pending.push({ name: 'rank', step: atStep, value: effectiveRank(sampled, out.featureDim) });
      if (!knn) return null;
      // Not abortable: a pause waits the few seconds for it, then checkpoints the steps before.
      const features = await encodeRows(out, reader, knn.rows);
      const result = await knnAccuracy(features, out.featureDim, knn.labels);
      if (Number.isFinite(result.accuracy)) pending.push({ name: 'knn', step: atStep, value: result.accuracy });
      return result.accuracy;
    };

    let order: number[] = [];
    let orderEpoch = -1;
    let lastLoss: number | null = null, lastKnn: number | null = null, lastIps: number | null = null;
    const recent: { t: number; step: number }[] = [];
    let lastFlush = Date.now(), lastCheckpointAt = Date.now();

    while (step < totalSteps) {
      if (io.signal.aborted) break;
      const epoch = Math.floor(step / stepsPerEpoch);
      if (epoch !== orderEpoch) {
        order = pool ? permutation(cfg.seed, epoch, m).map((i) => pool[i]!) : permutation(cfg.seed, epoch, n);
        orderEpoch = epoch;
      }
      const within = step % stepsPerEpoch;
      const rows = order.slice(within * batch, (within + 1) * batch).sort((a, b) => a - b);
      const lr = learningRateAt(step, totalSteps, cfg.learningRate, warmupSteps);

      if (model.method.beforeStep) {
        await model.method.beforeStep({ step, totalSteps, encodeAll: () => encodeRows(model.encoder, reader, Array.from({ length: n }, (_, i) => i)) });
      }
      const images = reader.batch(rows);
      const viewTensors = views.map((spec, v) => augmentBatch(images, spec, Rng.derive(cfg.seed, `view${v}`, step), cache));
      images.dispose();
      const value = trainStep(model, optimizer, viewTensors, step, totalSteps, lr, rows, { peak: cfg.learningRate, epoch: step / stepsPerEpoch });
      const loss = (await value.data())[0]!;
      tf.dispose([value, ...viewTensors]);

      if (!Number.isFinite(loss)) {
        throw new LoupeError('internal', `Training diverged: the loss became ${loss} at step ${step + 1}.`, {
          hint: 'Lower the learning rate (halve it) and start a new run, or resume: the last checkpoint is from before the divergence.',
        });
      }
      step++;
      lastLoss = loss;
      const now = Date.now();
      recent.push({ t: now, step });
      while (recent.length > 20) recent.shift();
      const ips = recent.length > 1 ? ((recent.at(-1)!.step - recent[0]!.step) * batch) / ((recent.at(-1)!.t - recent[0]!.t) / 1000) : null;
      pending.push({ name: 'loss', step, value: loss }, { name: 'lr', step, value: lr });
      if (ips !== null) lastIps = ips;
      if (ips !== null && step % 5 === 0) pending.push({ name: 'images_per_second', step, value: ips });

      const endOfEpoch = step % stepsPerEpoch === 0;
      if (endOfEpoch && (step === totalSteps || (cfg.knnEvery > 0 && (step / stepsPerEpoch) % cfg.knnEvery === 0))) {
        const acc = await evaluate(step);
        if (acc !== null) lastKnn = acc;
        recent.splice(0, recent.length - 1); // the speed is of training, not of evaluation
        recent[0] = { t: Date.now(), step };
      }
      const metrics: Metrics = { phase: 'Training', epoch: Math.min(cfg.epochs, Math.floor((step - 1) / stepsPerEpoch) + 1), epochs: cfg.epochs, loss, lr };
      if (ips !== null) metrics.imagesPerSecond = ips;
      if (lastKnn !== null) metrics.knn = lastKnn;
      io.progress(step, totalSteps, metrics);

      if (now - lastFlush > 2000) {
        flush();
        lastFlush = now;
      }
      if (now - lastCheckpointAt > cfg.checkpointMinutes * 60_000 || (io.checkpointEverySteps && step % io.checkpointEverySteps === 0)) {
        await checkpoint();
        lastCheckpointAt = Date.now();
      }
      io.onStep?.(step);
      await new Promise((r) => setImmediate(r));
    }

    await checkpoint();
    flush();
    let encoder: string | null = null;
    if (step >= totalSteps) {
      const dir = path.join(runDir(project, runId), 'encoder');
      const meta: EncoderMetadata = {
        format: 'loupe-encoder', version: 1, runId, method: method.id, hyperparameters: hp, config: cfg, encoder: encoderConfig,
        featureDim: model.encoder.featureDim, normalization: { mean: cache.mean, std: cache.std }, epochs: cfg.epochs, steps: step,
        backend: backend.name, device: backend.device, dataHash: cache.dataHash, savedAt: new Date().toISOString(),
      };
      await writeWeights(dir, 'loupe-encoder', encoderTensors(model.params, model.output.prefix), meta);
      encoder = path.relative(project.dir, dir);
      updateRun(project.db, runId, { encoder });
    }
    return {
      runId, steps: step, epochs: step / stepsPerEpoch, finalLoss: lastLoss, knn: lastKnn, imagesPerSecond: lastIps,
      backend: backend.name, device: backend.device, encoder, stopped: step < totalSteps,
    };
  } finally {
    try {
      flush();
    } catch {
      // the job's own outcome is reported; metrics are best effort
    }
    optimizer.dispose();
    model.dispose();
    reader.close();
  }
}
