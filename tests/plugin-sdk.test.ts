// The plugin SDK: `loupe plugin new` scaffolds a plugin of every kind whose own generated test
// passes as generated (it ends with `loupe plugin check`, which loads the plugin exactly as the
// app does and runs it for real); a scaffolded exporter dropped into the user plugins folder is
// offered by `loupe export` without touching core code; broken plugins fail the check with a reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { scaffoldKinds } from '../core/plugins/scaffold.ts';
import { tempDir } from './helpers/corpus.ts';

const bin = path.resolve('bin/loupe.mjs');
const loupe = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

test('loupe plugin new makes a working plugin of every kind; each passes its own generated test', { timeout: 300_000 }, () => {
  const parent = tempDir('plugins-new');
  for (const kind of scaffoldKinds) {
    const made = loupe(['plugin', 'new', kind, `Demo ${kind}`, '--dir', parent, '--json']);
    assert.equal(made.status, 0, made.stderr);
    const { dir, files } = JSON.parse(made.stdout) as { dir: string; files: string[] };
    assert.equal(path.basename(dir), `demo-${kind}`);
    assert.deepEqual(files.map((f) => path.basename(f)).sort(), ['README.md', 'index.mjs', 'package.json', 'test.mjs']);
    // Without NODE_TEST_CONTEXT the child reports as a plugin author's terminal would see it.
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', 'test.mjs'], { cwd: dir, encoding: 'utf8', env: { ...env, LOUPE_BIN: bin } });
    assert.equal(run.status, 0, `${kind}: ${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /(#|ℹ) pass 2/, `${kind}: both generated tests ran (none skipped)`);
    assert.match(run.stdout, /(#|ℹ) skipped 0/);
  }
  const again = loupe(['plugin', 'new', 'importer', 'Demo importer', '--dir', parent]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already exists/);
  const badKind = loupe(['plugin', 'new', 'painter', 'x', '--dir', parent]);
  assert.match(badKind.stderr, /Kinds: ssl-method, lf-generator, importer, exporter/);
});

test('a scaffolded exporter in the user plugins folder is offered by loupe export; a broken one fails its check with the reason', { timeout: 120_000 }, () => {
  const home = tempDir('plugins-home');
  const env = { LOUPE_HOME: home };
  const userPlugins = path.join(home, 'plugins');
  const made = loupe(['plugin', 'new', 'exporter', 'labels-jsonl', '--dir', userPlugins]);
  assert.equal(made.status, 0, made.stderr);
  const project = tempDir('plugins-project');
  assert.equal(loupe(['init', project]).status, 0);
  const list = loupe(['export', project, '--list', '--json'], env);
  assert.equal(list.status, 0, list.stderr);
  assert.ok((JSON.parse(list.stdout) as { format: string }[]).some((r) => r.format === 'labels-jsonl'), list.stdout);

  const broken = path.join(tempDir('plugins-broken'), 'broken');
  fs.mkdirSync(broken);
  fs.writeFileSync(path.join(broken, 'index.mjs'), `export default { manifest: { id: 'broken', kind: 'lf-generator', version: '1', apiVersion: 1, name: 'Broken' },
    activate() { return { family: 'x', generate: () => [{ key: 'a', description: 'votes for a class that does not exist', classIndex: 99, fires: new Uint32Array([0]) }] }; } };`);
  const check = loupe(['plugin', 'check', broken, '--json']);
  assert.equal(check.status, 1);
  assert.match(JSON.parse(check.stdout).problem, /class 99/);
});
