// Training runs, their metric series and the embedding matrices made from them.
import { LoupeError } from '../errors.ts';
import type { Db } from './database.ts';

export interface RunRow<C = unknown> {
  id: number;
  datasetId: number;
  jobId: number | null;
  name: string;
  method: string;
  config: C;
  backend: string | null;
  device: string | null;
  step: number;
  totalSteps: number | null;
  /** Latest complete checkpoint folder, relative to the project. */
  checkpoint: string | null;
  /** Exported encoder folder (tfjs format), relative to the project, once training finished. */
  encoder: string | null;
  dataHash: string | null;
  createdAt: string;
}

interface RawRun {
  id: number;
  dataset_id: number;
  job_id: number | null;
  name: string;
  method: string;
  config: string;
  backend: string | null;
  device: string | null;
  step: number;
  total_steps: number | null;
  checkpoint: string | null;
  encoder: string | null;
  data_hash: string | null;
  created_at: string;
}

const toRun = <C>(r: RawRun): RunRow<C> => ({
  id: r.id, datasetId: r.dataset_id, jobId: r.job_id, name: r.name, method: r.method, config: JSON.parse(r.config) as C,
  backend: r.backend, device: r.device, step: r.step, totalSteps: r.total_steps, checkpoint: r.checkpoint,
  encoder: r.encoder, dataHash: r.data_hash, createdAt: r.created_at,
});

export function createRun(db: Db, datasetId: number, name: string, method: string, config: unknown): number {
  return Number(db.prepare('INSERT INTO runs (dataset_id, name, method, config) VALUES (?, ?, ?, ?)').run(datasetId, name, method, JSON.stringify(config)).lastInsertRowid);
}

export function getRun<C = unknown>(db: Db, id: number): RunRow<C> {
  const r = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RawRun | undefined;
  if (!r) throw new LoupeError('not-found', `Training run ${id} does not exist.`, { hint: 'List runs with `loupe runs`.' });
  return toRun<C>(r);
}

export function listRuns<C = unknown>(db: Db, datasetId?: number): RunRow<C>[] {
  const rows = (datasetId === undefined
    ? db.prepare('SELECT * FROM runs ORDER BY id DESC').all()
    : db.prepare('SELECT * FROM runs WHERE dataset_id = ? ORDER BY id DESC').all(datasetId)) as RawRun[];
  return rows.map((r) => toRun<C>(r));
}

/** The newest run with a saved encoder, in the whole project or in one dataset. */
export function latestFinishedRun(db: Db, datasetId?: number): RunRow | undefined {
  const r = (datasetId === undefined
    ? db.prepare('SELECT * FROM runs WHERE encoder IS NOT NULL ORDER BY id DESC LIMIT 1').get()
    : db.prepare('SELECT * FROM runs WHERE encoder IS NOT NULL AND dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId)) as RawRun | undefined;
  return r && toRun(r);
}

export function updateRun(db: Db, id: number, patch: Partial<Pick<RunRow, 'jobId' | 'backend' | 'device' | 'step' | 'totalSteps' | 'checkpoint' | 'encoder' | 'dataHash'>>): void {
  const columns: Record<string, string> = {
    jobId: 'job_id', backend: 'backend', device: 'device', step: 'step', totalSteps: 'total_steps',
    checkpoint: 'checkpoint', encoder: 'encoder', dataHash: 'data_hash',
  };
  const keys = Object.keys(patch) as (keyof typeof patch)[];
  if (!keys.length) return;
  const sets = keys.map((k) => `${columns[k]} = ?`).join(', ');
  db.prepare(`UPDATE runs SET ${sets}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`).run(...keys.map((k) => patch[k] ?? null), id);
}

export interface MetricPoint {
  name: string;
  step: number;
  value: number;
}

export function addMetrics(db: Db, runId: number, points: MetricPoint[]): void {
  const insert = db.prepare('INSERT OR REPLACE INTO run_metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const p of points) if (Number.isFinite(p.value)) insert.run(runId, p.name, p.step, p.value);
  })();
}

/** Drops points recorded after `step` (a resumed run replays them from its checkpoint). */
export function truncateMetrics(db: Db, runId: number, step: number): void {
  db.prepare('DELETE FROM run_metrics WHERE run_id = ? AND step > ?').run(runId, step);
}

/** Every series of a run, or those after `sinceStep`, as name → [step, value][] (for the curves). */
export function getMetrics(db: Db, runId: number, sinceStep = -1): Record<string, [number, number][]> {
  const rows = db.prepare('SELECT name, step, value FROM run_metrics WHERE run_id = ? AND step > ? ORDER BY name, step').all(runId, sinceStep) as MetricPoint[];
  const out: Record<string, [number, number][]> = {};
  for (const r of rows) (out[r.name] ??= []).push([r.step, r.value]);
  return out;
}

export interface EmbeddingRow {
  id: number;
  runId: number;
  datasetId: number;
  file: string;
  dim: number;
  count: number;
  dataHash: string;
  createdAt: string;
}

export function addEmbedding(db: Db, e: Omit<EmbeddingRow, 'id' | 'createdAt'>): number {
  return Number(db.prepare('INSERT INTO embeddings (run_id, dataset_id, file, dim, count, data_hash) VALUES (?, ?, ?, ?, ?, ?)')
    .run(e.runId, e.datasetId, e.file, e.dim, e.count, e.dataHash).lastInsertRowid);
}

const EMBEDDING_COLUMNS = 'id, run_id AS runId, dataset_id AS datasetId, file, dim, count, data_hash AS dataHash, created_at AS createdAt';

export function latestEmbedding(db: Db, runId: number): EmbeddingRow | undefined {
  return db.prepare(`SELECT ${EMBEDDING_COLUMNS} FROM embeddings WHERE run_id = ? ORDER BY id DESC LIMIT 1`).get(runId) as EmbeddingRow | undefined;
}

export function getEmbedding(db: Db, id: number): EmbeddingRow {
  const r = db.prepare(`SELECT ${EMBEDDING_COLUMNS} FROM embeddings WHERE id = ?`).get(id) as EmbeddingRow | undefined;
  if (!r) throw new LoupeError('not-found', `Embedding ${id} does not exist.`, { hint: 'Embed the images again with the run.' });
  return r;
}
