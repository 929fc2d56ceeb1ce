// Training and embedding as job kinds of the job runner: persisted, with progress and ETA,
// pausable, and resumed after a crash (training from its last checkpoint).
import { Worker } from 'node:worker_threads';
import { type ErrorCode, LoupeError } from '../errors.ts';
import type { JobContext, JobKind } from '../jobs/runner.ts';
import { getDataset } from '../store/datasets.ts';
import type { Project } from '../store/project.ts';
import { createRun, getRun, updateRun } from '../store/runs.ts';
import { defaultTrainConfig, type TrainConfig } from './config.ts';
import { embedRun, type EmbedResult } from './embed.ts';
import type { SslMethod } from './method.ts';
import { findSslMethod } from './methods.ts';
import { trainRun, type TrainResult } from './trainer.ts';
import type { TrainWorkerData, TrainWorkerMessage } from './train-worker-main.ts';

export interface RunJobParams {
  runId: number;
}

export function trainJobKind(project: Project, methods: () => SslMethod[] = () => []): JobKind<RunJobParams, TrainResult> {
  return {
    kind: 'train',
    resumable: true,
    title: ({ runId }) => {
      try {
        const run = getRun(project.db, runId);
        return `Train ${findSslMethod(run.method, methods()).name} · ${getDataset(project.db, run.datasetId).name}`;
      } catch {
        return `Train run ${runId}`;
      }
    },
    // Plugin methods live in this thread's module graph, so runs that use one train here; the
    // built-in methods train in a worker thread.
    run: (ctx) => {
      const runMethod = getRun(project.db, ctx.params.runId).method;
      if (methods().some((m) => m.id === runMethod)) return trainRun(project, ctx.params.runId, { signal: ctx.signal, progress: ctx.progress, methods: methods() });
      return trainInWorker(project, ctx);
    },
  };
}

/**
 * The worker's entry: from sources, core/engine/train-worker.mjs (a tsx bootstrap); in the
 * Electron bundle, electron/dist/train-worker.mjs beside main.mjs (scripts/build.mjs makes it).
 */
function workerEntry(): URL {
  return new URL('./train-worker.mjs', import.meta.url);
}

function trainInWorker(project: Project, ctx: JobContext<RunJobParams>): Promise<TrainResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerEntry(), { workerData: { projectDir: project.dir, runId: ctx.params.runId } satisfies TrainWorkerData });
    let settled = false;
    const onAbort = () => worker.postMessage({ type: 'abort' });
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      f();
    };
    worker.on('message', (m: TrainWorkerMessage) => {
      if (m.type === 'progress') ctx.progress(m.done, m.total, m.metrics);
      else if (m.type === 'done') finish(() => resolve(m.result as TrainResult));
      else if (m.type === 'error') finish(() => reject(new LoupeError(m.error.code as ErrorCode, m.error.message, m.error.hint ? { hint: m.error.hint } : {})));
    });
    worker.on('error', (err) => finish(() => reject(new LoupeError('internal', `The training thread failed: ${err.message}`, { cause: err }))));
    worker.on('exit', (code) => finish(() => reject(new LoupeError('internal', `The training thread stopped unexpectedly (exit code ${code}).`, {
      hint: 'Resume the run: it continues from its last checkpoint.',
    }))));
  });
}

export function embedJobKind(project: Project): JobKind<RunJobParams, EmbedResult> {
  return {
    kind: 'embed',
    resumable: true,
    title: ({ runId }) => `Embed images with run ${runId}`,
    run: (ctx) => embedRun(project, ctx.params.runId, { signal: ctx.signal, progress: ctx.progress }),
  };
}

/** Records a new run from a method's defaults and the user's choices; returns its id. */
export function createTrainingRun(project: Project, method: SslMethod, datasetId: number, overrides: Partial<TrainConfig> = {}): number {
  const config = defaultTrainConfig(method, datasetId, overrides);
  const count = (project.db.prepare('SELECT COUNT(*) AS n FROM runs WHERE dataset_id = ?').get(datasetId) as { n: number }).n;
  return createRun(project.db, datasetId, `${method.name} #${count + 1}`, method.id, config);
}

export function attachJob(project: Project, runId: number, jobId: number): void {
  updateRun(project.db, runId, { jobId });
}
