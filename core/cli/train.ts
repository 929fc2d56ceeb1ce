// `loupe train`, `loupe embed`, `loupe eval knn`, `loupe backends`, `loupe runs`.
import { parseArgs } from 'node:util';
import { probeBackends, isBackendName, type BackendName } from '../engine/backends/select.ts';
import type { TrainConfig } from '../engine/config.ts';
import { evaluateKnnForRun } from '../engine/embed.ts';
import { createTrainingRun } from '../engine/jobs.ts';
import { builtinSslMethods, findSslMethod } from '../engine/methods.ts';
import { findPreset, presetsFor, type TrainPreset } from '../engine/presets.ts';
import type { TrainResult } from '../engine/trainer.ts';
import { LoupeError } from '../errors.ts';
import { Host } from '../host/host.ts';
import type { JobInfo } from '../jobs/runner.ts';
import { defaultProjectDir, userDataDir } from '../paths.ts';
import { findDatasetByName, listDatasets } from '../store/datasets.ts';
import { getRun, latestFinishedRun, listRuns } from '../store/runs.ts';
import { formatDuration } from './output.ts';

const print = (json: boolean, human: string, data: unknown) => console.log(json ? JSON.stringify(data) : human);

function trainLine(job: JobInfo): string {
  const m = job.metrics;
  const pct = job.total ? Math.floor((100 * job.done) / job.total) : 0;
  if (m.phase && m.phase !== 'Training') {
    const extra = m.toPrepare ? ` ${m.prepared}/${m.toPrepare}` : '';
    return `${job.title}: ${m.phase}${extra}…`;
  }
  const parts = [`${job.title}: ${pct}% (step ${job.done}/${job.total ?? '?'}, epoch ${m.epoch}/${m.epochs})`];
  if (typeof m.loss === 'number') parts.push(`loss ${m.loss.toFixed(4)}`);
  if (typeof m.knn === 'number') parts.push(`kNN ${(100 * m.knn).toFixed(1)}%`);
  if (typeof m.imagesPerSecond === 'number') parts.push(`${m.imagesPerSecond.toFixed(0)} img/s`);
  if (job.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(job.etaSeconds)}`);
  return parts.join(' · ');
}

/** Follows a job to its end with a progress line on stderr; Ctrl+C pauses it (resumable). */
async function follow(host: Host, jobId: number, json: boolean): Promise<JobInfo> {
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const onJob = (job: JobInfo) => {
    if (job.id !== jobId || job.state !== 'running' || json) return;
    if (tty) process.stderr.write(`\r\x1b[2K${trainLine(job)}`);
    else if (Date.now() - lastLine > 5000) {
      lastLine = Date.now();
      console.error(trainLine(job));
    }
  };
  host.jobs.on('job', onJob);
  const onSignal = () => {
    console.error('\nPausing: the run is saved and continues with the same command.');
    host.jobs.pause(jobId);
  };
  process.once('SIGINT', onSignal);
  try {
    return await host.jobs.waitFor(jobId);
  } finally {
    process.off('SIGINT', onSignal);
    host.jobs.off('job', onJob);
    if (tty && !json) process.stderr.write('\n');
  }
}

export function resolveDatasetId(host: Host, name: string | undefined): number {
  const datasets = listDatasets(host.project.db);
  if (name) {
    const byId = /^\d+$/.test(name) ? datasets.find((d) => d.id === Number(name)) : undefined;
    const ds = byId ?? findDatasetByName(host.project.db, name);
    if (!ds) throw new LoupeError('not-found', `No dataset "${name}" in this project.`, { hint: `Datasets: ${datasets.map((d) => d.name).join(', ') || 'none'}.` });
    return ds.id;
  }
  const usable = datasets.filter((d) => d.counts.ok > 0);
  if (usable.length === 0) throw new LoupeError('invalid-input', 'This project has no images yet.', { hint: 'Import a folder first: loupe import <project> <folder>.' });
  return usable.sort((a, b) => b.counts.ok - a.counts.ok)[0]!.id;
}

async function withDemo(host: Host, json: boolean): Promise<void> {
  if (listDatasets(host.project.db).some((d) => d.counts.ok > 0)) return;
  if (!json) console.error('No dataset given and none in the project: importing the emoji demo dataset first.');
  const { jobId } = (await host.call('demo.create', {})) as { jobId: number };
  const done = await host.jobs.waitFor(jobId);
  if (done.state !== 'done') throw new LoupeError('internal', `The demo import ${done.state}: ${done.error?.message ?? ''}`);
}

export async function runTrain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      json: { type: 'boolean' }, method: { type: 'string', default: 'simclr' }, epochs: { type: 'string' }, batch: { type: 'string' },
      size: { type: 'string' }, width: { type: 'string' }, lr: { type: 'string' }, backend: { type: 'string' }, dataset: { type: 'string' },
      seed: { type: 'string' }, hp: { type: 'string', multiple: true }, set: { type: 'string', multiple: true }, new: { type: 'boolean' }, 'checkpoint-minutes': { type: 'string' },
      'knn-every': { type: 'string' }, preset: { type: 'string' }, 'init-from': { type: 'string' },
    },
  });
  const json = !!values.json;
  const projectDir = positionals[0] ?? defaultProjectDir();
  if (values.backend && !isBackendName(values.backend)) throw new LoupeError('invalid-input', `Unknown backend "${values.backend}".`, { hint: 'One of webgpu, tensorflow, native, wasm, cpu.' });
  const host = new Host({ projectDir, userDir: userDataDir(), transport: 'http', create: positionals[0] === undefined, autoResume: false });
  try {
    await host.loadUserPlugins();
    if (!positionals[0] && !values.dataset) await withDemo(host, json);
    const method = findSslMethod(values.method!, host.sslMethods());
    const datasetId = resolveDatasetId(host, values.dataset);
    const num = (v: string | undefined, what: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new LoupeError('invalid-input', `--${what} must be a number.`);
      return n;
    };
    // A preset fills in what the flags leave open; explicit flags and --set win.
    let preset: TrainPreset | undefined;
    try {
      preset = values.preset ? findPreset(method, values.preset) : undefined;
    } catch (err) {
      throw new LoupeError('invalid-input', (err as Error).message);
    }
    const hyperparameters: Record<string, string | number | boolean> = { ...preset?.hyperparameters };
    for (const kv of [...(values.hp ?? []), ...(values.set ?? [])]) {
      const [k, ...rest] = kv.split('=');
      if (!k || rest.length === 0) throw new LoupeError('invalid-input', `--hp takes key=value, got "${kv}".`, { hint: `${method.name} has: ${method.hyperparameters.map((h) => h.key).join(', ')}.` });
      hyperparameters[k] = rest.join('=');
    }
    // A paused or interrupted run of the same method on the same dataset continues, unless --new.
    const resumable = values.new ? undefined : host.jobs.list(500).find((j) => j.kind === 'train' && ['paused', 'interrupted', 'failed'].includes(j.state)
      && (() => { try { const r = getRun(host.project.db, (j.params as { runId: number }).runId); return r.datasetId === datasetId && r.method === method.id; } catch { return false; } })());
    let jobId: number;
    if (resumable) {
      host.jobs.resume(resumable.id);
      jobId = resumable.id;
      console.error(`Resuming ${resumable.title} from its last checkpoint (use --new for a fresh run).`);
    } else {
      const flags: Partial<TrainConfig> = {
        epochs: num(values.epochs, 'epochs'), batchSize: num(values.batch, 'batch'), imageSize: num(values.size, 'size'),
        width: num(values.width, 'width'), learningRate: num(values.lr, 'lr'), seed: num(values.seed, 'seed'),
        backend: values.backend as BackendName | undefined, hyperparameters,
        checkpointMinutes: num(values['checkpoint-minutes'], 'checkpoint-minutes'), knnEvery: num(values['knn-every'], 'knn-every'), initFromRun: num(values['init-from'], 'init-from'),
      };
      const overrides = { ...preset?.settings, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
      const runId = createTrainingRun(host.project, method, datasetId, overrides);
      jobId = host.startTraining(runId);
    }
    const final = await follow(host, jobId, json);
    const runId = (final.params as { runId: number }).runId;
    if (final.state === 'paused') {
      print(json, `Paused at step ${final.done}/${final.total}. Run the same command to continue.`, { ok: true, state: 'paused', runId, step: final.done });
      return 0;
    }
    if (final.state !== 'done') {
      print(json, final.error ? `${final.error.message}${final.error.hint ? `\n${final.error.hint}` : ''}` : `Training ${final.state}.`, { ok: false, state: final.state, runId, error: final.error });
      return 1;
    }
    const r = final.result as TrainResult;
    const human = [
      `Trained run ${r.runId} on ${r.backend} (${r.device}): ${r.steps} steps, ${r.epochs.toFixed(1)} epochs.`,
      `Final loss ${r.finalLoss?.toFixed(4) ?? '—'}${r.knn !== null ? `, kNN accuracy ${(100 * r.knn).toFixed(1)}%` : ''}${r.imagesPerSecond ? `, ${r.imagesPerSecond.toFixed(0)} images/s` : ''}.`,
      r.encoder ? `Encoder saved in ${r.encoder}. Next: loupe embed ${projectDir === defaultProjectDir() ? '' : `${projectDir} `}--run ${r.runId}` : '',
    ].filter(Boolean).join('\n');
    print(json, human, { ok: true, ...r });
    return 0;
  } finally {
    host.close();
  }
}

function pickRun(host: Host, run: string | undefined): number {
  if (run) return Number(run);
  const latest = latestFinishedRun(host.project.db);
  if (!latest) throw new LoupeError('not-found', 'No finished training run in this project.', { hint: 'Train one first: loupe train <project>.' });
  return latest.id;
}

export async function runEmbed(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, run: { type: 'string' } } });
  const host = new Host({ projectDir: positionals[0] ?? defaultProjectDir(), userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    const runId = pickRun(host, values.run);
    getRun(host.project.db, runId);
    const jobId = host.jobs.start('embed', { runId });
    const final = await follow(host, jobId, !!values.json);
    if (final.state !== 'done') {
      print(!!values.json, final.error ? `${final.error.message}${final.error.hint ? `\n${final.error.hint}` : ''}` : `Embedding ${final.state}.`, { ok: false, state: final.state, error: final.error });
      return 1;
    }
    const r = final.result as { file: string; count: number; dim: number; embeddingId: number };
    print(!!values.json, `Embedded ${r.count} images (${r.dim} dimensions) into ${r.file}.`, { ok: true, runId, ...r });
    return 0;
  } finally {
    host.close();
  }
}

export async function runEval(args: string[]): Promise<number> {
  const [what, ...rest] = args;
  if (what !== 'knn') throw new LoupeError('invalid-input', `Unknown evaluation "${what ?? ''}".`, { hint: 'Use: loupe eval knn <project> [--run R] [--k 20] [--json]' });
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, run: { type: 'string' }, k: { type: 'string' } } });
  const host = new Host({ projectDir: positionals[0] ?? defaultProjectDir(), userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    const runId = pickRun(host, values.run);
    const r = await evaluateKnnForRun(host.project, runId, values.k ? { k: Number(values.k) } : {});
    print(!!values.json, `kNN accuracy (k=${r.k}, ${r.protocol === 'split' ? 'train split → held-out splits' : 'leave-one-out'}): ${(100 * r.accuracy).toFixed(2)}% over ${r.queries} labelled images in ${r.classes} classes.`, { ok: true, ...r });
    return 0;
  } finally {
    host.close();
  }
}

export async function runBackends(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const reports = await probeBackends();
  const human = reports.map((r) => `${r.available ? '✓' : '✗'} ${r.name.padEnd(10)} ${r.device ?? ''}${r.note ? `${r.device ? ' — ' : ''}${r.note}` : ''}`).join('\n');
  print(!!values.json, human, reports);
  return 0;
}

export function runMethods(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const methods = builtinSslMethods.map((m) => ({
    id: m.id, name: m.name, summary: m.summary, reference: m.reference, defaults: m.defaults, hyperparameters: m.hyperparameters, presets: presetsFor(m),
  }));
  const human = methods.map((m) => [
    `${m.id.padEnd(13)} ${m.name} — ${m.summary}`,
    ...m.hyperparameters.map((h) => `${' '.repeat(16)}--set ${h.key}=${h.default}  ${h.help}`),
    `${' '.repeat(16)}--preset ${m.presets.map((p) => p.id).join('|')}`,
  ].join('\n')).join('\n');
  print(!!values.json, human, methods);
  return 0;
}

export function runRuns(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const host = new Host({ projectDir: positionals[0] ?? defaultProjectDir(), userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    const runs = listRuns(host.project.db);
    print(!!values.json, runs.length ? runs.map((r) => `#${r.id} ${r.name}: step ${r.step}/${r.totalSteps ?? '?'} on ${r.backend ?? '—'}${r.encoder ? ' · finished' : ''}`).join('\n') : 'No training runs yet.', runs);
    return 0;
  } finally {
    host.close();
  }
}
