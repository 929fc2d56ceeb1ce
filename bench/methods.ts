/**
 * `npm run bench -- methods [--sets fashion-mnist,emoji] [--methods simclr,byol,…] [--budget 72000]
 *   [--images 5000] [--size 32] [--width 0.25] [--seeds 1] [--set key=value …] [--fresh] [--no-reference]`
 *
 * Every SSL method trains the same narrow ResNet-18 for the same image budget (images seen, each
 * in its views), with its fast-CPU preset's batch, optimiser settings and hyper-parameters, on the
 * real labelled sets of ../shared/README.md, then is scored on the held-out
 * split: kNN top-1 (k = 20, cosine, the train split as the bank) and a linear probe (logistic
 * regression on frozen features). The random-init encoder gives the floor every method must beat
 * clearly; the PyTorch references train SimCLR and BYOL for the same budget and score them the same
 * way (their own random encoder, initialised as Loupe's, gives their own floor).
 * SSL training sees every image of the set without its label (transductive, as in SeLa's setup);
 * labels are used only by the scorers, and only the train split's by the probe and the kNN bank.
 * Finished runs are cached in the bench project under their resolved settings and reused unless
 * --fresh (needed after a code change that no setting names). `--set` overrides a
 * run setting (learningRate, optimizer, …) or a method hyper-parameter for every method run, to
 * try a change against the table without editing a plugin. `--seeds n` trains and scores every
 * method and reference (and draws the floors' random encoders) with seeds 0…n−1 and judges on the means, printing
 * each mean ± its standard deviation: at this budget one run's accuracy moves by a few points
 * with the seed alone, as much as the margin being judged.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { effectiveRank } from '../core/engine/collapse.ts';
import { CacheReader, ensureTrainingCache, type TrainingCache } from '../core/engine/data/cache.ts';
import { loadRunEncoder } from '../core/engine/embed.ts';
import { encodeRows } from '../core/engine/features.ts';
import { createTrainingRun } from '../core/engine/jobs.ts';
import { knnAccuracy } from '../core/engine/knn.ts';
import { loadLabels } from '../core/engine/labels.ts';
import { resolveHyperparameters, type SslMethod } from '../core/engine/method.ts';
import { builtinSslMethods } from '../core/engine/methods.ts';
import { buildModel } from '../core/engine/model.ts';
import { findPreset } from '../core/engine/presets.ts';
import { teacherMomentum } from '../core/engine/optim.ts';
import { activateBackend } from '../core/engine/backends/select.ts';
import { trainRun } from '../core/engine/trainer.ts';
import { linearProbeAccuracy } from '../core/learn/classifier.ts';
import { getMetrics, listRuns } from '../core/store/runs.ts';
import { openBenchSet, type BenchSet, type SetName } from './data/sets.ts';
import { option } from './args.ts';

const PYTHON = '/usr/bin/python3';

/** What the scorers give for one encoder. */
interface Scores { knn: number; probe: number; rank: number }

interface Row extends Scores {
  method: string;
  imagesPerSecond: number;
  minutes: number;
  lossFirst: number;
  lossLast: number;
  cached: boolean;
}

interface Split { labels: Int32Array; train: number[]; test: number[]; classes: number }

function splitOf(set: BenchSet, cache: TrainingCache): Split {
  const labels = loadLabels(set.host.project.db, set.datasetId);
  const classOf = Int32Array.from(cache.imageIds, (id) => labels.byImage.get(id) ?? -1);
  const train: number[] = [], test: number[] = [];
  cache.imageIds.forEach((id, row) => {
    if (classOf[row]! < 0) return;
    (labels.split.get(id) === 'test' ? test : train).push(row);
  });
  return { labels: classOf, train, test, classes: labels.classNames.length };
}

async function score(features: Float32Array, dim: number, split: Split): Promise<Scores> {
  const knn = await knnAccuracy(features, dim, split.labels, { bank: split.train, queries: split.test });
  const probe = await linearProbeAccuracy(features, dim, split.labels, split.train, split.test, split.classes);
  const sample = split.test.slice(0, 1024);
  const sampled = new Float32Array(sample.length * dim);
  sample.forEach((r, i) => sampled.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
  return { knn: knn.accuracy, probe, rank: effectiveRank(sampled, dim) };
}

/** "Clearly above the floor": more than 2 points of accuracy (a 1,000-image test split's standard error is ~1.4). */
const CLEAR_MARGIN = 0.02;
const versus = (x: number, floor: number) => `${x > floor + CLEAR_MARGIN ? '+' : ''}${(100 * (x - floor)).toFixed(1)} pt`;

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

type Overrides = Record<string, string | number>;

/** `--set key=value` (repeatable): run settings by name, anything else a hyper-parameter. */
function overridesOf(args: string[]): Overrides {
  const out: Overrides = {};
  args.forEach((a, i) => {
    if (a !== '--set') return;
    const [key, value] = (args[i + 1] ?? '').split('=');
    if (!key || value === undefined) throw new Error(`--set wants key=value, got "${args[i + 1] ?? ''}"`);
    out[key] = Number.isFinite(Number(value)) ? Number(value) : value;
  });
  return out;
}

/** The batch a method trains at here: its fast-CPU preset's, at most 128 (references use the same). */
const benchBatch = (method: SslMethod) => Math.min(128, findPreset(method, 'fast-cpu').settings.batchSize ?? method.defaults.batchSize);

const RUN_SETTINGS = new Set(['learningRate', 'optimizer', 'weightDecay', 'warmupEpochs', 'batchSize']);

async function runMethod(set: BenchSet, method: SslMethod, cache: TrainingCache, split: Split, o: { budget: number; size: number; width: number; fresh: boolean; overrides: Overrides; seed: number }): Promise<Row> {
  const { project } = set.host;
  const preset = findPreset(method, 'fast-cpu');
  const epochs = Math.max(1, Math.round(o.budget / cache.imageIds.length));
  const config = {
    epochs, imageSize: o.size, width: o.width, knnEvery: 0, warmupEpochs: Math.min(2, epochs / 5), seed: o.seed,
    batchSize: benchBatch(method), hyperparameters: { ...preset.hyperparameters },
    // The preset's optimiser settings (a method may raise its learning rate for short CPU runs).
    ...pick(preset.settings, ['learningRate', 'optimizer', 'weightDecay']),
  };
  for (const [key, value] of Object.entries(o.overrides)) {
    if (RUN_SETTINGS.has(key)) Object.assign(config, { [key]: value });
    else if (method.hyperparameters.some((h) => h.key === key)) config.hyperparameters[key] = value;
  }
  // What was trained: every hyper-parameter as resolved (a changed or new default retrains, not
  // only a preset's), the views (a change to a method's augmentations retrains it) and the encoder
  // kept as the result. Code changes beyond these still need --fresh.
  const resolved = resolveHyperparameters(method, config.hyperparameters);
  const output = method.outputEncoder ? { outputEncoder: method.outputEncoder } : {};
  const signature = JSON.stringify({ ...config, hyperparameters: resolved, views: method.views(o.size, resolved), ...output });
  // The whole name must match: a run renamed by hand (say, a trial kept for reference) is never reused.
  const name = `bench ${method.id} #${signature.length}-${hash(signature)}`;
  let run = o.fresh ? undefined : listRuns(project.db, set.datasetId).find((r) => r.method === method.id && r.encoder && r.name === name);
  const cached = !!run;
  if (!run) {
    const runId = createTrainingRun(project, method, set.datasetId, config);
    project.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, runId);
    let last = 0;
    await trainRun(project, runId, {
      signal: new AbortController().signal,
      progress: (done, total) => {
        if (total && process.stdout.isTTY && Date.now() - last > 5_000) {
          last = Date.now();
          process.stdout.write(`    ${method.id}: ${done}/${total} steps\r`);
        }
      },
    });
    run = listRuns(project.db, set.datasetId).find((r) => r.id === runId)!;
    if (process.stdout.isTTY) process.stdout.write(' '.repeat(60) + '\r');
  }
  const runId = run.id;
  const metrics = getMetrics(project.db, runId);
  const loss = (metrics.loss ?? []).map(([, v]) => v);
  const perEpoch = Math.max(1, Math.floor(loss.length / epochs));
  const ips = mean((metrics.images_per_second ?? []).map(([, v]) => v));
  const seconds = (metrics.loss?.length ?? 0) * config.batchSize / Math.max(ips, 1e-9);
  const loaded = loadRunEncoder(project, runId);
  const reader = new CacheReader({ ...cache, mean: loaded.metadata.normalization.mean, std: loaded.metadata.normalization.std });
  try {
    const features = await encodeRows(loaded.encoder, reader, Array.from({ length: reader.length }, (_, i) => i));
    const s = await score(features, loaded.encoder.featureDim, split);
    return { method: method.id, imagesPerSecond: ips, minutes: seconds / 60, ...s, lossFirst: mean(loss.slice(0, perEpoch)), lossLast: mean(loss.slice(-perEpoch)), cached };
  } finally {
    reader.close();
    loaded.dispose();
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<T, K>>;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

async function randomFloor(cache: TrainingCache, split: Split, size: number, width: number, seed: number): Promise<Scores> {
  const simclr = builtinSslMethods.find((m) => m.id === 'simclr')!;
  const model = buildModel(simclr, { arch: 'resnet18', width, inputSize: size, inChannels: 3 }, resolveHyperparameters(simclr, {}), seed);
  const reader = new CacheReader(cache);
  try {
    const features = await encodeRows(model.encoder, reader, Array.from({ length: reader.length }, (_, i) => i));
    return await score(features, model.encoder.featureDim, split);
  } finally {
    reader.close();
    model.dispose();
  }
}

interface ReferenceResult { knn: number; floor: number; imagesPerSecond: number; firstLoss: number; lastLoss: number }

/** The PyTorch reference for `method` with the settings Loupe's run used (batch, learning rate, crop scale; BYOL's capped target momentum, KoLeo, predictor rate). */
function pytorchReference(cache: TrainingCache, split: Split, epochs: number, width: number, method: 'simclr' | 'byol', seed: number): ReferenceResult | string {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log('  Installing the PyTorch reference (Debian python3-torch, python3-torchvision)…');
    spawnSync('apt-get', ['install', '-y', 'python3-torch', 'python3-torchvision'], { stdio: 'ignore' });
  }
  const meta = path.join(path.dirname(cache.file), `bench-reference-${cache.datasetId}-${cache.size}.json`);
  const splitName = new Array<string>(cache.imageIds.length).fill('none');
  split.train.forEach((r) => { splitName[r] = 'train'; });
  split.test.forEach((r) => { splitName[r] = 'test'; });
  fs.writeFileSync(meta, JSON.stringify({ size: cache.size, count: cache.imageIds.length, mean: cache.mean, std: cache.std, labels: Array.from(split.labels), split: splitName }));
  const script = path.join(import.meta.dirname, 'reference', 'simclr_knn.py');
  const own = builtinSslMethods.find((m) => m.id === method)!;
  const batch = benchBatch(own);
  const steps = Math.floor(cache.imageIds.length / batch) * epochs;
  // The learning rate and crop scale Loupe's run used (the reference has no colour or blur options).
  const preset = findPreset(own, 'fast-cpu');
  const hp = resolveHyperparameters(own, preset.hyperparameters);
  const learningRate = preset.settings.learningRate ?? own.defaults.learningRate;
  const minScale = own.views(cache.size, hp)[0]!.scale[0];
  // BYOL as Loupe's preset runs it: its capped target momentum, KoLeo weight and predictor rate.
  const extra = method === 'byol'
    ? ['--momentum', String(teacherMomentum(0, steps, 0.99)), '--koleo', String(Number(hp.koleo ?? 0)), ...(hp.fixedPredictorRate === true ? ['--fixed-predictor-rate'] : [])]
    : [];
  const r = spawnSync(PYTHON, [script, '--pixels', cache.file, '--meta', meta, '--epochs', String(epochs), '--width', String(width), '--warmup', String(Math.min(2, epochs / 5)),
    '--method', method, '--batch', String(batch), '--lr', String(learningRate), '--min-scale', String(minScale), '--seed', String(seed), ...extra],
    { encoding: 'utf8', cwd: path.dirname(script), maxBuffer: 1 << 24 });
  if (r.status !== 0) return `reference failed: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`;
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  const parsed = line ? JSON.parse(line) as Record<string, number> : null;
  if (!parsed || typeof parsed.knn !== 'number') return `reference printed no result: ${r.stdout.trim().slice(-200)}`;
  return parsed as unknown as ReferenceResult;
}

/**
 * The reference trained with each of Loupe's seeds, as means (± sd): one seed's kNN moves by a point
 * or two, so a gap between Loupe and PyTorch is only read off the same number of seeds.
 */
function referenceOverSeeds(cache: TrainingCache, split: Split, epochs: number, width: number, method: 'simclr' | 'byol', seeds: number[]):
  (ReferenceResult & { knnSd: number | null; floorSd: number | null }) | string {
  const runs: ReferenceResult[] = [];
  for (const seed of seeds) {
    const r = pytorchReference(cache, split, epochs, width, method, seed);
    if (typeof r === 'string') return r;
    console.log(`  PyTorch ${method.padEnd(5)} seed ${seed}  kNN ${pct(r.knn)}  floor ${pct(r.floor)}  ${r.imagesPerSecond.toFixed(0)} img/s`);
    runs.push(r);
  }
  const avg = (k: keyof ReferenceResult) => mean(runs.map((r) => r[k]));
  return { knn: avg('knn'), floor: avg('floor'), imagesPerSecond: avg('imagesPerSecond'), firstLoss: avg('firstLoss'), lastLoss: avg('lastLoss'),
    knnSd: sd(runs.map((r) => r.knn)), floorSd: sd(runs.map((r) => r.floor)) };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const pctSd = (v: number, sd: number | null) => (sd === null ? pct(v) : `${pct(v)} ± ${(100 * sd).toFixed(1)}`);

interface Summary extends Scores {
  knnSd: number | null;
  probeSd: number | null;
}
type MethodSummary = Summary & Pick<Row, 'method' | 'imagesPerSecond' | 'minutes' | 'lossFirst' | 'lossLast'>;

/** Sample standard deviation; null for a single value (no spread to report). */
const sd = (v: number[]) => (v.length < 2 ? null : Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1)));

function summarize(runs: Scores[]): Summary {
  return {
    knn: mean(runs.map((r) => r.knn)), probe: mean(runs.map((r) => r.probe)), rank: mean(runs.map((r) => r.rank)),
    knnSd: sd(runs.map((r) => r.knn)), probeSd: sd(runs.map((r) => r.probe)),
  };
}

export async function run(args: string[]): Promise<void> {
  const sets = option(args, 'sets', 'fashion-mnist,emoji').split(',') as SetName[];
  const wanted = option(args, 'methods', builtinSslMethods.map((m) => m.id).join(',')).split(',');
  // 72k images: 14 epochs of the 5,000-image sets, half of what the fast-CPU preset runs (30). At
  // 24k (5 epochs) the methods that learn from a moving target (BYOL's and DINO's EMA teachers,
  // SeLa's and SwAV's clusters, Barlow Twins' cross-correlation) had barely started: kNN within
  // 2 points of the random-init floor, 3.2–6.9 points above it at 72k (Fashion-MNIST, seed 0).
  const budget = Number(option(args, 'budget', '72000'));
  const size = Number(option(args, 'size', '32')), width = Number(option(args, 'width', '0.25'));
  const fresh = args.includes('--fresh'), reference = !args.includes('--no-reference');
  const seeds = Array.from({ length: Math.max(1, Number(option(args, 'seeds', '1'))) }, (_, i) => i);
  const overrides = overridesOf(args);
  const backend = await activateBackend(undefined);
  console.log(`Methods benchmark: narrow ResNet-18 (width ${width}), ${size} px, budget ${budget} images per method, backend ${backend.name} (${backend.device}).\n`);
  for (const name of sets) {
    const set = await openBenchSet(name, { images: Number(option(args, 'images', '5000')) });
    if (!set) {
      console.log(`${name}: skipped (data set unavailable, see above).\n`);
      continue;
    }
    try {
      const cache = await ensureTrainingCache(set.host.project, set.datasetId, size);
      const split = splitOf(set, cache);
      const epochs = Math.max(1, Math.round(budget / cache.imageIds.length));
      console.log(`${name}: ${cache.imageIds.length} images, ${split.classes} classes; scored on ${split.test.length} held-out images (bank/probe: ${split.train.length}); ${epochs} epochs each.`);
      const floors: Scores[] = [];
      for (const seed of seeds) {
        const f = await randomFloor(cache, split, size, width, seed);
        floors.push(f);
        console.log(`  ${'random init'.padEnd(13)} seed ${seed}  kNN ${pct(f.knn)}  probe ${pct(f.probe)}  rank ${f.rank.toFixed(1)}`);
      }
      const floor = summarize(floors);
      const rows: MethodSummary[] = [];
      for (const method of builtinSslMethods.filter((m) => wanted.includes(m.id))) {
        const runs: Row[] = [];
        for (const seed of seeds) {
          const row = await runMethod(set, method, cache, split, { budget, size, width, fresh, overrides, seed });
          runs.push(row);
          console.log(`  ${row.method.padEnd(13)} seed ${seed}  kNN ${pct(row.knn)}  probe ${pct(row.probe)}  rank ${row.rank.toFixed(1)}  ${row.imagesPerSecond.toFixed(0)} img/s${row.cached ? '  (cached run)' : ''}`);
        }
        rows.push({ ...summarize(runs), method: method.id, imagesPerSecond: mean(runs.map((r) => r.imagesPerSecond)), minutes: mean(runs.map((r) => r.minutes)),
          lossFirst: mean(runs.map((r) => r.lossFirst)), lossLast: mean(runs.map((r) => r.lossLast)) });
      }
      const references = (['simclr', 'byol'] as const).filter((m) => reference && wanted.includes(m))
        .map((m) => ({ name: builtinSslMethods.find((b) => b.id === m)!.name, result: referenceOverSeeds(cache, split, epochs, width, m, seeds) }));
      const spread = seeds.length > 1 ? ` (mean ± sd of ${seeds.length} seeds)` : '';
      console.log(`\n| method | img/s | train min | loss first→last epoch | kNN top-1${spread} | linear probe${spread} | eff. rank | vs floor (kNN) | vs floor (probe) |`);
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const r of rows) {
        console.log(`| ${r.method} | ${r.imagesPerSecond.toFixed(0)} | ${r.minutes.toFixed(1)} | ${r.lossFirst.toFixed(3)} → ${r.lossLast.toFixed(3)} | ${pctSd(r.knn, r.knnSd)} | ${pctSd(r.probe, r.probeSd)} | ${r.rank.toFixed(1)} | ${versus(r.knn, floor.knn)} | ${versus(r.probe, floor.probe)} |`);
      }
      console.log(`| random init (floor) | — | — | — | ${pctSd(floor.knn, floor.knnSd)} | ${pctSd(floor.probe, floor.probeSd)} | ${floor.rank.toFixed(1)} | — | — |`);
      for (const { name: refName, result: ref } of references) {
        if (typeof ref === 'string') console.log(`| PyTorch ${refName} | ${ref} |`);
        else console.log(`| PyTorch ${refName} (reference, same budget, ${seeds.length > 1 ? `mean ± sd of ${seeds.length} seeds` : 'seed 0'}) | ${ref.imagesPerSecond.toFixed(0)} | — | ${ref.firstLoss.toFixed(3)} → ${ref.lastLoss.toFixed(3)} | ${pctSd(ref.knn, ref.knnSd)} | — | — | ${versus(ref.knn, ref.floor)} over its own floor ${pctSd(ref.floor, ref.floorSd)} | — |`);
      }
      const beaten = rows.filter((r) => r.knn > floor.knn + CLEAR_MARGIN).length, probed = rows.filter((r) => r.probe > floor.probe + CLEAR_MARGIN).length;
      console.log(`\n${beaten}/${rows.length} methods beat the random-init floor by more than ${100 * CLEAR_MARGIN} points of kNN accuracy; ${probed}/${rows.length} by more than ${100 * CLEAR_MARGIN} points of linear-probe accuracy${seeds.length > 1 ? ` (means over ${seeds.length} seeds)` : ''}.\n`);
    } finally {
      set.close();
    }
  }
}
