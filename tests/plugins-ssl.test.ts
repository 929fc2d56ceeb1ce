// The SSL-method plugin in docs/PLUGINS.md, copied out of the document as a third party would,
// loads from the user data folder, appears among the methods and trains; malformed method
// plugins are refused with their reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { prepareEmojiDemo } from '../core/demo.ts';
import { Host } from '../core/host/host.ts';
import { getRun } from '../core/store/runs.ts';
import { tempDir } from './helpers/corpus.ts';

function examplePlugin(): string {
  const doc = fs.readFileSync('docs/PLUGINS.md', 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/PLUGINS.md has a js example');
  return block[1]!;
}

test('the example SSL plugin from docs/PLUGINS.md loads, is listed and trains; broken method plugins are refused', { timeout: 180_000 }, async () => {
  const userDir = tempDir('plugin-user');
  const write = (name: string, code: string) => {
    fs.mkdirSync(path.join(userDir, 'plugins', name), { recursive: true });
    fs.writeFileSync(path.join(userDir, 'plugins', name, 'index.mjs'), code);
  };
  write('instance-contrast', examplePlugin());
  const manifest = (id: string) => `manifest: { id: '${id}', kind: 'ssl-method', version: '1', apiVersion: 1, name: '${id}' }`;
  write('no-build', `export default { ${manifest('no-build')}, activate: () => ({ id: 'no-build', name: 'x', hyperparameters: [], defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 0, batchSize: 8, epochs: 1, warmupEpochs: 0 }, views: () => [] }) };`);
  write('clash', `export default { ${manifest('simclr')}, activate: (ctx) => ({ id: 'simclr', name: 'Fake', summary: '', reference: '', hyperparameters: [], defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 0, batchSize: 8, epochs: 1, warmupEpochs: 0 }, views: () => [], build: () => ({}) }) };`);
  write('bad-output', `export default { ${manifest('bad-output')}, activate: () => ({ id: 'bad-output', name: 'x', hyperparameters: [], defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 0, batchSize: 8, epochs: 1, warmupEpochs: 0 }, views: () => [], build: () => ({}), outputEncoder: 'encoder' }) };`);
  write('bad-labels', `export default { ${manifest('bad-labels')}, activate: () => ({ id: 'bad-labels', name: 'x', hyperparameters: [], defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 0, batchSize: 8, epochs: 1, warmupEpochs: 0 }, views: () => [], build: () => ({}), needsLabels: 'yes' }) };`);
  write('throws', `export default { ${manifest('throws')}, activate() { throw new Error('needs a licence key'); } };`);

  const dir = tempDir('plugin-project');
  const host = new Host({ projectDir: dir, userDir, transport: 'http', create: true, autoResume: false });
  try {
    await host.loadUserPlugins();
    const info = (await host.call('app.info', {})) as { plugins: { id: string }[]; pluginProblems: { source: string; reason: string }[] };
    assert.deepEqual(info.plugins.map((p) => p.id), ['instance-contrast']);
    const reasons = Object.fromEntries(info.pluginProblems.map((p) => [path.basename(p.source), p.reason]));
    assert.match(reasons['no-build']!, /views and build must be functions/);
    assert.match(reasons.clash!, /already loaded/);
    assert.match(reasons.throws!, /needs a licence key/);
    assert.match(reasons['bad-output']!, /outputEncoder must be the prefix given to createEncoder/);
    assert.match(reasons['bad-labels']!, /needsLabels must be true or false/);

    const options = (await host.call('train.options', {})) as { methods: { id: string; hyperparameters: { key: string }[] }[] };
    const listed = options.methods.find((m) => m.id === 'instance-contrast');
    assert.ok(listed, 'the plugin method is offered in the Train form');
    assert.deepEqual(listed.hyperparameters.map((h) => h.key), ['temperature']);

    const folder = prepareEmojiDemo(dir, 6);
    const { jobId, datasetId } = (await host.call('import.start', { folder, labels: { kind: 'folders' } })) as { jobId: number; datasetId: number };
    assert.equal((await host.jobs.waitFor(jobId)).state, 'done');
    const { runId, jobId: trainJob } = (await host.call('train.start', {
      datasetId, method: 'instance-contrast', epochs: 2, batchSize: 16, imageSize: 24, width: 0.125, hyperparameters: { temperature: 0.3 },
    })) as { runId: number; jobId: number };
    const done = await host.jobs.waitFor(trainJob);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    const run = getRun<{ hyperparameters: { temperature: number } }>(host.project.db, runId);
    assert.ok(run.encoder);
    assert.equal(run.method, 'instance-contrast');
    assert.equal(run.config.hyperparameters.temperature, 0.3);
  } finally {
    host.close();
  }
});
