// The training loop's own thread. Kernels block for hundreds of milliseconds per step; running
// them here keeps the host (Electron's main process, or the HTTP server) responsive. The worker
// opens its own connection to the project's SQLite file (WAL allows it) and reports progress,
// the result or the error to the job that started it; an abort message pauses the run at the
// next step boundary (with a checkpoint).
import { parentPort, workerData } from 'node:worker_threads';
import { asLoupeError } from '../errors.ts';
import { Project } from '../store/project.ts';
import { trainRun } from './trainer.ts';

export interface TrainWorkerData {
  projectDir: string;
  runId: number;
}

export type TrainWorkerMessage =
  | { type: 'progress'; done: number; total: number | null; metrics: Record<string, number | string> }
  | { type: 'done'; result: unknown }
  | { type: 'error'; error: { code: string; message: string; hint?: string } };

const { projectDir, runId } = workerData as TrainWorkerData;
const ctrl = new AbortController();
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'abort') ctrl.abort(new Error('stopped'));
});
const post = (m: TrainWorkerMessage) => parentPort!.postMessage(m);

const project = Project.open(projectDir);
try {
  const result = await trainRun(project, runId, {
    signal: ctrl.signal,
    progress: (done, total, metrics) => post({ type: 'progress', done, total, metrics }),
  });
  post({ type: 'done', result });
} catch (err) {
  const e = asLoupeError(err, projectDir);
  post({ type: 'error', error: e.toJSON() });
} finally {
  project.close();
  parentPort!.close();
}
