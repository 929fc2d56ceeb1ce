// Training and embedding as job kinds of the job runner: persisted, with progress and ETA,
// pausable, and resumed after a crash (training from its last checkpoint).
import type { JobKind } from '../jobs/runner.ts';
import { getDataset } from '../store/datasets.ts';
import type { Project } from '../store/project.ts';
import { createRun, getRun, updateRun } from '../store/runs.ts';
import { defaultTrainConfig, type TrainConfig } from './config.ts';
import { embedRun, type EmbedResult } from './embed.ts';
import type { SslMethod } from './method.ts';
import { findSslMethod } from './methods.ts';
import { trainRun, type TrainResult } from './trainer.ts';

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
    run: (ctx) => trainRun(project, ctx.params.runId, { signal: ctx.signal, progress: ctx.progress, methods: methods() }),
  };
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
