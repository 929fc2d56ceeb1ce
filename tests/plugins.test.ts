import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { API_VERSION } from '../core/plugins/contract.ts';
import { builtinImporters, loadUserPlugins } from '../core/plugins/registry.ts';
import { tempDir } from './helpers/corpus.ts';

function plugin(dir: string, name: string, source: string): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  fs.writeFileSync(path.join(dir, name, 'index.mjs'), source);
}

test('user plugins: good ones load, broken ones are reported with their reason and skipped', async () => {
  const dir = tempDir('plugins');
  const manifest = (extra: object) => JSON.stringify({ id: 'csv-list', kind: 'importer', version: '1.0.0', apiVersion: API_VERSION, name: 'CSV list', ...extra });
  plugin(dir, 'good', `export default { manifest: ${manifest({})}, activate: () => ({ list: async () => ({ images: [], unsupported: [], ignored: 0, unreadable: [] }) }) };`);
  plugin(dir, 'throws', `throw new Error('boom at import');`);
  plugin(dir, 'bad-manifest', `export default { manifest: ${manifest({ id: 'Bad Id!' })}, activate() {} };`);
  plugin(dir, 'old-api', `export default { manifest: ${manifest({ apiVersion: 0 })}, activate() {} };`);
  plugin(dir, 'no-activate', `export default { manifest: ${manifest({})} };`);
  fs.mkdirSync(path.join(dir, 'empty'));

  const { loaded, problems } = await loadUserPlugins(dir);
  assert.deepEqual(loaded.map((l) => l.plugin.manifest.id), ['csv-list']);
  const reason = (name: string) => problems.find((p) => p.source.endsWith(name))?.reason ?? '';
  assert.match(reason('throws'), /failed to load: boom at import/);
  assert.match(reason('bad-manifest'), /invalid manifest: id/);
  assert.match(reason('old-api'), /plugin API 0/);
  assert.match(reason('no-activate'), /activate is not a function/);
  assert.match(reason('empty'), /no index/);

  const importers = builtinImporters(loaded.map((l) => l.plugin));
  assert.deepEqual([...importers.keys()], ['folder', 'csv-list']);
});

test('the host loads user plugins from the user data folder and reports the broken ones', async () => {
  const { Host } = await import('../core/host/host.ts');
  const userDir = tempDir('plugin-user');
  const dir = path.join(userDir, 'plugins');
  const manifest = JSON.stringify({ id: 'one-file', kind: 'importer', version: '1.0.0', apiVersion: API_VERSION, name: 'One file' });
  plugin(dir, 'one-file', `export default { manifest: ${manifest}, activate: () => ({ list: async (source) => ({ images: [], unsupported: [], ignored: 1, unreadable: [] }) }) };`);
  plugin(dir, 'broken', 'export default 42;');
  const host = new Host({ projectDir: tempDir('plugin-proj'), userDir, transport: 'http' });
  await host.loadUserPlugins();
  const info = (await host.call('app.info', {})) as { plugins: { id: string }[]; pluginProblems: { reason: string }[] };
  assert.deepEqual(info.plugins.map((p) => p.id), ['one-file']);
  assert.equal(info.pluginProblems.length, 1);
  assert.match(info.pluginProblems[0]!.reason, /no plugin object/);
  host.close();
});
