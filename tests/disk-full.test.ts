/**
 * A full disk mid-import: the job fails with a message that says what to do, the store stays
 * consistent, and once space is freed the same job resumes and completes. Uses a real, tiny
 * tmpfs (needs root to mount; skipped with a message elsewhere).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Host } from '../core/host/host.ts';
import type { ImportResult } from '../core/images/import.ts';
import { photo, tempDir } from './helpers/corpus.ts';

function mountTmpfs(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a small tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
}

test('disk full during import: clear error, consistent store, resumes after space is freed', { timeout: 120_000 }, async (t) => {
  const mountPoint = tempDir('full');
  const why = mountTmpfs(mountPoint, '900k');
  if (why) return t.skip(why);
  try {
    const src = tempDir('full-src');
    for (let i = 0; i < 120; i++) await photo(640, 480, i).jpeg({ quality: 95 }).toFile(path.join(src, `img${i}.jpg`));
    const host = new Host({ projectDir: path.join(mountPoint, 'project'), userDir: tempDir('full-user'), transport: 'http' });
    const { jobId } = (await host.call('import.start', { folder: src, labels: { kind: 'none' } })) as { jobId: number };
    const failed = await host.jobs.waitFor(jobId);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.message, 'The disk is full.', JSON.stringify(failed.error));
    assert.match(failed.error?.hint ?? '', /Free some space.*resume/);

    const db = host.project.db;
    const stored = db.prepare("SELECT hash FROM images WHERE status = 'ok'").all() as { hash: string }[];
    assert.ok(stored.length < 120, `stopped early (${stored.length} stored)`);
    for (const { hash } of stored) assert.ok(fs.existsSync(host.project.thumbPath(hash)), 'every stored image has its thumbnail');
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');

    execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
    host.jobs.resume(jobId);
    const done = await host.jobs.waitFor(jobId);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM images WHERE status = 'ok'").get() as { n: number }).n, 120);
    assert.equal((done.result as ImportResult).failed, 0);
    host.close();
  } finally {
    execFileSync('umount', ['-l', mountPoint]);
  }
});
