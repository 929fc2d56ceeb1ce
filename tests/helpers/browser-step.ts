// Browser entry (bundled by tests/webgpu-browser.test.ts): the same tiny seeded training as
// tests/helpers/one-step.ts, on Chromium's own WebGPU.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { tinyRun } from './tiny-run.ts';

async function run(): Promise<unknown> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('webgpu backend did not initialise');
  const gpu = (navigator as unknown as { gpu: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu;
  const info = (await gpu.requestAdapter())?.info ?? {};
  return { backend: tf.getBackend(), device: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '), ...(await tinyRun()) };
}

(window as unknown as { runStep: () => Promise<unknown> }).runStep = run;
