import { EventEmitter } from 'node:events';
import { asLoupeError, LoupeError } from '../errors.ts';
import type { Db } from '../store/database.ts';
import { RateMeter } from './progress.ts';

export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled' | 'interrupted';
export type Metrics = Record<string, number | string>;

export interface JobInfo {
  id: number;
  kind: string;
  title: string;
  params: unknown;
  state: JobState;
  done: number;
  total: number | null;
  metrics: Metrics;
  result: unknown;
  error: { message: string; hint?: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Items per second and seconds left, known while running. */
  rate?: number;
  etaSeconds?: number;
}

export interface JobContext<P> {
  readonly jobId: number;
  readonly params: P;
  /** Aborted on cancel or pause; handlers stop at the next safe point and return. */
  readonly signal: AbortSignal;
  progress(done: number, total?: number | null, metrics?: Metrics): void;
}

export interface JobKind<P = unknown, R = unknown> {
  kind: string;
  title(params: P): string;
  /** A resumable job can be paused and is restarted after a crash; its handler must be idempotent. */
  resumable: boolean;
  run(ctx: JobContext<P>): Promise<R>;
}

interface RawJob {
  id: number;
  kind: string;
  title: string;
  params: string;
  state: JobState;
  done: number;
  total: number | null;
  metrics: string;
  result: string | null;
  error: string | null;
  pid: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const now = () => new Date().toISOString();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs long work as persisted jobs, one at a time in submission order. State and progress live in
 * SQLite, so a crash or kill leaves a record that `recover()` turns into an interrupted job and,
 * for resumable kinds, runs again.
 */
export class JobRunner extends EventEmitter<{ job: [JobInfo] }> {
  private readonly kinds = new Map<string, JobKind<any, any>>();
  private readonly controllers = new Map<number, { ctrl: AbortController; reason?: 'cancel' | 'pause' }>();
  private readonly meters = new Map<number, RateMeter>();
  private readonly waiters = new Map<number, ((job: JobInfo) => void)[]>();
  private queue: number[] = [];
  private active: number | undefined;
  private disposed = false;

  constructor(private readonly db: Db, private readonly progressWriteMs = 500) {
    super();
  }

  register<P, R>(kind: JobKind<P, R>): void {
    this.kinds.set(kind.kind, kind);
  }

  /** Persists a new job and queues it. */
  start<P>(kind: string, params: P): number {
    const k = this.kindOf(kind);
    const id = Number(
      this.db
        .prepare("INSERT INTO jobs (kind, title, params, state) VALUES (?, ?, ?, 'queued')")
        .run(kind, k.title(params), JSON.stringify(params ?? {})).lastInsertRowid,
    );
    this.enqueue(id);
    return id;
  }

  get(id: number): JobInfo {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob | undefined;
    if (!row) throw new LoupeError('not-found', `Job ${id} does not exist.`);
    return this.toInfo(row);
  }

  list(limit = 50): JobInfo[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit) as RawJob[]).map((r) => this.toInfo(r));
  }

  cancel(id: number): void {
    const job = this.get(id);
    if (job.state === 'queued' || job.state === 'paused' || job.state === 'interrupted') {
      this.queue = this.queue.filter((q) => q !== id);
      this.finish(id, 'cancelled');
      return;
    }
    const c = this.controllers.get(id);
    if (!c) throw new LoupeError('conflict', `Job ${id} is ${job.state} and cannot be cancelled.`);
    c.reason = 'cancel';
    c.ctrl.abort(new LoupeError('cancelled', 'Cancelled.'));
  }

  pause(id: number): void {
    const job = this.get(id);
    if (!this.kindOf(job.kind).resumable) throw new LoupeError('unsupported', `A ${job.kind} job cannot be paused.`);
    if (job.state === 'queued') {
      this.queue = this.queue.filter((q) => q !== id);
      this.setState(id, 'paused');
      return;
    }
    const c = this.controllers.get(id);
    if (!c) throw new LoupeError('conflict', `Job ${id} is ${job.state} and cannot be paused.`);
    c.reason = 'pause';
    c.ctrl.abort(new LoupeError('cancelled', 'Paused.'));
  }

  /** Runs a paused or interrupted job again from where its handler finds it left off. */
  resume(id: number): void {
    const job = this.get(id);
    if (!['paused', 'interrupted', 'failed'].includes(job.state) && !this.isOrphaned(id)) {
      throw new LoupeError('conflict', `Job ${id} is ${job.state}; only paused, interrupted or failed jobs resume.`);
    }
    if (!this.kindOf(job.kind).resumable) throw new LoupeError('unsupported', `A ${job.kind} job cannot be resumed; start it again.`);
    this.db.prepare("UPDATE jobs SET state = 'queued', error = NULL, finished_at = NULL WHERE id = ?").run(id);
    this.enqueue(id);
  }

  /**
   * Start-up recovery: jobs left 'running' or 'queued' by a process that is gone are marked
   * interrupted; those of resumable kinds are queued again when `autoResume` is set.
   */
  recover({ autoResume = true } = {}): number[] {
    const stale = (this.db.prepare("SELECT * FROM jobs WHERE state IN ('running', 'queued')").all() as RawJob[]).filter(
      (r) => r.pid === null || (r.pid !== process.pid && !isAlive(r.pid)),
    );
    const resumed: number[] = [];
    for (const r of stale) {
      if (this.queue.includes(r.id) || this.active === r.id) continue;
      this.setState(r.id, 'interrupted');
      if (autoResume && this.kinds.get(r.kind)?.resumable) {
        this.resume(r.id);
        resumed.push(r.id);
      }
    }
    return resumed;
  }

  /** Resolves when the job reaches a final or paused state. */
  waitFor(id: number): Promise<JobInfo> {
    const job = this.get(id);
    if (!['queued', 'running'].includes(job.state)) return Promise.resolve(job);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /** Aborts the running job (it stays 'running' in the store, so the next start recovers it). */
  dispose(): void {
    this.disposed = true;
    this.queue = [];
    for (const c of this.controllers.values()) c.ctrl.abort(new LoupeError('cancelled', 'Loupe is closing.'));
  }

  /** A row left 'running' although no process runs it (its final state could not be written). */
  private isOrphaned(id: number): boolean {
    const row = this.db.prepare('SELECT state, pid FROM jobs WHERE id = ?').get(id) as { state: JobState; pid: number | null } | undefined;
    if (row?.state !== 'running' || this.active === id || this.controllers.has(id)) return false;
    return row.pid === null || row.pid === process.pid || !isAlive(row.pid);
  }

  private kindOf(kind: string): JobKind<unknown, unknown> {
    const k = this.kinds.get(kind);
    if (!k) throw new LoupeError('unsupported', `Unknown job kind "${kind}".`);
    return k;
  }

  private enqueue(id: number): void {
    this.queue.push(id);
    this.emit('job', this.get(id));
    queueMicrotask(() => void this.pump());
  }

  private async pump(): Promise<void> {
    if (this.active !== undefined || this.disposed) return;
    const id = this.queue.shift();
    if (id === undefined) return;
    this.active = id;
    try {
      await this.execute(id);
    } finally {
      this.active = undefined;
      void this.pump();
    }
  }

  private async execute(id: number): Promise<void> {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob;
    if (row.state !== 'queued') return;
    const kind = this.kindOf(row.kind);
    const ctrl = new AbortController();
    const entry: { ctrl: AbortController; reason?: 'cancel' | 'pause' } = { ctrl };
    this.controllers.set(id, entry);
    const meter = new RateMeter();
    this.meters.set(id, meter);
    this.db
      .prepare("UPDATE jobs SET state = 'running', pid = ?, started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ?")
      .run(process.pid, now(), now(), id);
    this.emit('job', this.get(id));

    let lastWrite = 0;
    let last = { done: row.done, total: row.total, metrics: JSON.parse(row.metrics) as Metrics };
    // Progress is best effort: a write that fails (disk full) must not hide the job's own outcome.
    const write = () => {
      try {
        this.db.prepare('UPDATE jobs SET done = ?, total = ?, metrics = ?, updated_at = ? WHERE id = ?').run(last.done, last.total, JSON.stringify(last.metrics), now(), id);
      } catch {
        // The final state below reports what happened.
      }
    };
    const ctx: JobContext<unknown> = {
      jobId: id,
      params: JSON.parse(row.params),
      signal: ctrl.signal,
      progress: (done, total, metrics) => {
        last = { done, total: total === undefined ? last.total : total, metrics: metrics ?? last.metrics };
        meter.sample(done);
        const t = Date.now();
        if (t - lastWrite >= this.progressWriteMs) {
          lastWrite = t;
          write();
          this.emit('job', this.get(id));
        }
      },
    };
    try {
      const result = await kind.run(ctx);
      write();
      if (ctrl.signal.aborted) this.finish(id, entry.reason === 'pause' ? 'paused' : this.disposed ? 'running' : 'cancelled', result);
      else this.finish(id, 'done', result);
    } catch (err) {
      write();
      if (ctrl.signal.aborted) this.finish(id, entry.reason === 'pause' ? 'paused' : this.disposed ? 'running' : 'cancelled');
      else this.finish(id, 'failed', undefined, asLoupeError(err));
    } finally {
      this.controllers.delete(id);
      this.meters.delete(id);
    }
  }

  private setState(id: number, state: JobState): void {
    this.db.prepare('UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?').run(state, now(), id);
    this.emit('job', this.get(id));
  }

  private finish(id: number, state: JobState, result?: unknown, error?: LoupeError): void {
    if (state === 'running') return; // closing: leave it for recovery at the next start
    const final = state === 'done' || state === 'failed' || state === 'cancelled';
    let info: JobInfo;
    try {
      this.db
        .prepare('UPDATE jobs SET state = ?, result = COALESCE(?, result), error = ?, updated_at = ?, finished_at = ? WHERE id = ?')
        .run(state, result === undefined ? null : JSON.stringify(result), error ? JSON.stringify(error.toJSON()) : null, now(), final ? now() : null, id);
      info = this.get(id);
    } catch (err) {
      // The store cannot record it (disk full): tell the UI anyway. The row stays 'running', so the
      // next start marks it interrupted and it can be resumed.
      const cause = error ?? asLoupeError(err);
      info = { ...this.get(id), state: 'failed', error: cause.toJSON(), finishedAt: now() };
    }
    this.emit('job', info);
    const waiters = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    // After the runner's own clean-up for this job, so a waiter may resume it at once.
    setImmediate(() => {
      for (const w of waiters) w(info);
    });
  }

  private toInfo(r: RawJob): JobInfo {
    const meter = this.meters.get(r.id);
    const info: JobInfo = {
      id: r.id,
      kind: r.kind,
      title: r.title,
      params: JSON.parse(r.params),
      state: r.state,
      done: r.done,
      total: r.total,
      metrics: JSON.parse(r.metrics),
      result: r.result ? JSON.parse(r.result) : null,
      error: r.error ? JSON.parse(r.error) : null,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    };
    const rate = meter?.perSecond();
    if (rate !== undefined) info.rate = rate;
    const eta = meter?.etaSeconds(r.done, r.total);
    if (eta !== undefined) info.etaSeconds = eta;
    return info;
  }
}
