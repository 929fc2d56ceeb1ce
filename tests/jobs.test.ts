import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { LoupeError } from '../core/errors.ts';
import { type JobContext, JobRunner } from '../core/jobs/runner.ts';
import { Project } from '../core/store/project.ts';
import { photo, tempDir } from './helpers/corpus.ts';

const bin = path.resolve('bin/loupe.mjs');

function counting(total: number, stepMs: number, seen: number[]) {
  return {
    kind: 'count',
    resumable: true,
    title: () => 'Count',
    async run(ctx: JobContext<{ start?: number }>) {
      for (let i = seen.length; i < total; i++) {
        if (ctx.signal.aborted) return { counted: seen.length };
        await new Promise((r) => setTimeout(r, stepMs));
        seen.push(i);
        ctx.progress(seen.length, total, { last: i });
      }
      return { counted: seen.length };
    },
  };
}

test('jobs run in order, report progress with rate and ETA, and persist their result', async () => {
  const p = Project.open(tempDir('jobs'), { create: true });
  const runner = new JobRunner(p.db, 0);
  const seen: number[] = [];
  runner.register(counting(20, 15, seen));
  const events: { done: number; rate?: number; eta?: number }[] = [];
  runner.on('job', (j) => j.state === 'running' && events.push({ done: j.done, rate: j.rate, eta: j.etaSeconds }));
  const id = runner.start('count', {});
  const final = await runner.waitFor(id);
  assert.equal(final.state, 'done');
  assert.deepEqual(final.result, { counted: 20 });
  assert.equal(final.done, 20);
  assert.ok(events.some((e) => e.rate !== undefined && e.rate > 0 && e.eta !== undefined), 'rate and ETA are reported');
  p.close();
});

test('cancel, pause and resume; a failing job keeps its message and hint', async () => {
  const p = Project.open(tempDir('jobs2'), { create: true });
  const runner = new JobRunner(p.db, 0);
  const seen: number[] = [];
  runner.register(counting(40, 10, seen));
  runner.register({
    kind: 'boom', resumable: false, title: () => 'Boom',
    run: async () => { throw new LoupeError('disk-full', 'The disk is full.', { hint: 'Free some space.' }); },
  });
  const id = runner.start('count', {});
  while (seen.length < 5) await new Promise((r) => setTimeout(r, 5));
  runner.pause(id);
  const paused = await runner.waitFor(id);
  assert.equal(paused.state, 'paused');
  const at = seen.length;
  assert.ok(at < 40);
  runner.resume(id);
  assert.equal((await runner.waitFor(id)).state, 'done');
  assert.equal(seen.length, 40, 'resumed where it stopped');

  const seen2: number[] = [];
  const r2 = new JobRunner(p.db, 0);
  r2.register(counting(1000, 5, seen2));
  const c = r2.start('count', {});
  while (seen2.length < 3) await new Promise((r) => setTimeout(r, 5));
  r2.cancel(c);
  assert.equal((await r2.waitFor(c)).state, 'cancelled');

  const b = runner.start('boom', {});
  const failed = await runner.waitFor(b);
  assert.equal(failed.state, 'failed');
  assert.deepEqual(failed.error, { code: 'disk-full', message: 'The disk is full.', hint: 'Free some space.' });
  assert.throws(() => runner.pause(b), /cannot be paused/);
  p.close();
});

test('recovery marks jobs of dead processes interrupted and re-runs resumable ones', async () => {
  const p = Project.open(tempDir('jobs3'), { create: true });
  p.db.prepare("INSERT INTO jobs (kind, title, params, state, pid) VALUES ('count', 'Count', '{}', 'running', 999999)").run();
  p.db.prepare("INSERT INTO jobs (kind, title, params, state, pid) VALUES ('other', 'Other', '{}', 'running', 999998)").run();
  const runner = new JobRunner(p.db, 0);
  const seen: number[] = [];
  runner.register(counting(3, 1, seen));
  const resumed = runner.recover();
  assert.deepEqual(resumed, [1]);
  assert.equal((await runner.waitFor(1)).state, 'done');
  assert.equal(runner.get(2).state, 'interrupted');
  p.close();
});

test('kill -9 in the middle of an import, then import again: completes without duplicates', { timeout: 180_000 }, async () => {
  const folder = tempDir('kill-src');
  const n = 240;
  for (let i = 0; i < n; i++) {
    fs.mkdirSync(path.join(folder, `class${i % 3}`), { recursive: true });
    await photo(900, 700, i).jpeg({ quality: 90 }).toFile(path.join(folder, `class${i % 3}`, `img${i}.jpg`));
  }
  fs.copyFileSync(path.join(folder, 'class0', 'img0.jpg'), path.join(folder, 'class0', 'dup.jpg'));
  const projectDir = tempDir('kill-proj');
  const env = { ...process.env, LOUPE_HOME: tempDir('kill-home') };
  await new Promise((resolve) => spawn(process.execPath, [bin, 'init', projectDir], { env }).on('exit', resolve));

  const child = spawn(process.execPath, [bin, 'import', projectDir, folder, '--labels-from-folders', '--json'], { env, stdio: 'ignore' });
  const reader = () => new Database(path.join(projectDir, 'loupe.db'), { readonly: true, fileMustExist: true });
  let stored = 0;
  const deadline = Date.now() + 60_000;
  while (stored < 20 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const db = reader();
      stored = (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
      db.close();
    } catch {
      // The database may not exist yet.
    }
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const db = reader();
  const mid = (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
  const state = (db.prepare('SELECT state FROM jobs').get() as { state: string }).state;
  db.close();
  assert.ok(mid > 0 && mid < n + 1, `killed mid-way (${mid} of ${n + 1} stored)`);
  assert.equal(state, 'running', 'the killed job is left running in the store');

  const out = await new Promise<string>((resolve) => {
    const c = spawn(process.execPath, [bin, 'import', projectDir, folder, '--labels-from-folders', '--json'], { env });
    let s = '';
    c.stdout.on('data', (d) => (s += d));
    c.on('exit', () => resolve(s));
  });
  const summary = JSON.parse(out.trim().split('\n').at(-1)!);
  assert.equal(summary.ok, true);
  assert.deepEqual(summary.totals, { ok: n, duplicate: 1, failed: 0 });

  const after = reader();
  assert.equal((after.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n, n + 1);
  assert.equal((after.prepare('SELECT COUNT(DISTINCT rel_path) AS n FROM images').get() as { n: number }).n, n + 1);
  assert.equal((after.prepare("SELECT COUNT(*) AS n FROM labels WHERE source = 'import'").get() as { n: number }).n, n + 1);
  const jobs = after.prepare('SELECT state FROM jobs').all() as { state: string }[];
  assert.deepEqual(jobs.map((j) => j.state), ['done'], 'the interrupted job itself was resumed and finished');
  const hashes = after.prepare("SELECT hash FROM images WHERE status = 'ok'").all() as { hash: string }[];
  for (const { hash } of hashes) assert.ok(fs.existsSync(path.join(projectDir, 'thumbs', hash.slice(0, 2), `${hash}.webp`)));
  after.close();
});

test('when the store cannot record a job\'s end, waiters still learn it and the job can be resumed', async () => {
  const p = Project.open(tempDir('jobs4'), { create: true });
  const runner = new JobRunner(p.db, 0);
  let attempts = 0;
  runner.register({
    kind: 'flaky', resumable: true, title: () => 'Flaky',
    run: async () => {
      attempts++;
      if (attempts === 1) throw new LoupeError('disk-full', 'The disk is full.', { hint: 'Free some space.' });
      return { ok: true };
    },
  });
  // A real SQLite failure on the final write, as a full disk would cause.
  p.db.exec("CREATE TRIGGER refuse_failed BEFORE UPDATE OF state ON jobs WHEN NEW.state = 'failed' BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;");
  const id = runner.start('flaky', {});
  const first = await runner.waitFor(id);
  assert.equal(first.state, 'failed');
  assert.equal(first.error?.message, 'The disk is full.');
  assert.equal((p.db.prepare('SELECT state FROM jobs WHERE id = ?').get(id) as { state: string }).state, 'running', 'the row could not be updated');
  p.db.exec('DROP TRIGGER refuse_failed');
  runner.resume(id);
  assert.equal((await runner.waitFor(id)).state, 'done');
  p.close();
});
