// The engine's WebGPU path inside Chromium (as in Electron's renderer): the same seeded training
// steps run on Chromium's own WebGPU and match the CPU reference. Headless Chromium exposes WebGPU
// only with --enable-unsafe-webgpu on a secure context (http://localhost); without a GPU it is
// SwiftShader, a CPU implementation, so the shapes are tiny.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './helpers/browser.ts';
import { tempDir } from './helpers/corpus.ts';

interface StepResult { backend: string; device: string; losses: number[]; fingerprint: Record<string, number[]> }

test('training steps on Chromium\'s WebGPU match the cpu backend', { timeout: 300_000, skip: fs.existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}` }, async (t) => {
  const dir = tempDir('loupe-webgpu-page');
  await build({ entryPoints: ['tests/helpers/browser-step.ts'], bundle: true, format: 'esm', platform: 'browser', outfile: path.join(dir, 'step.js'), logLevel: 'error' });
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="step.js"></script>');
  const server = http.createServer((req, res) => {
    const file = path.join(dir, req.url === '/' ? 'index.html' : path.basename(req.url ?? ''));
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'runStep' in window);
    const hasGpu = await page.evaluate(async () => Boolean(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
    if (!hasGpu) return t.skip('this Chromium exposes no WebGPU adapter');
    const gpu = (await page.evaluate(() => (window as unknown as { runStep: () => Promise<unknown> }).runStep())) as StepResult;
    assert.equal(gpu.backend, 'webgpu');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'tests/helpers/one-step.ts', 'cpu'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const cpu = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as StepResult;
    gpu.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]!) <= 1e-4 * Math.max(1, Math.abs(l)), `loss ${i}: ${l} vs ${cpu.losses[i]}`));
    for (const [name, values] of Object.entries(gpu.fingerprint)) {
      values.forEach((v, i) => assert.ok(Math.abs(v - cpu.fingerprint[name]![i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `${name}[${i}]: ${v} vs ${cpu.fingerprint[name]![i]}`));
    }
    console.log(`Chromium WebGPU adapter: ${gpu.device || 'unnamed'}`);
  } finally {
    await browser.close();
    server.close();
  }
});
