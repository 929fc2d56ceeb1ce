// Run-time choice of the tfjs backend, best first: webgpu (a real GPU), tensorflow (tfjs-node, when
// the user could install it), native (Loupe's multi-threaded CPU kernels), wasm (portable), cpu
// (reference). Each candidate either initialises or says why not; a failure moves on to the next.
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { LoupeError } from '../../errors.ts';
import { loadNativeKernels } from './native-kernels.ts';
import { NATIVE_BACKEND, registerNativeBackend } from './native-backend.ts';
import { probeAdapter } from './webgpu-node.ts';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';

export const BACKEND_NAMES = ['webgpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendReport {
  name: BackendName;
  available: boolean;
  /** Why it is unavailable, or a caveat when it is (software GPU, reference speed). */
  note?: string;
  device?: string;
  /** Chosen automatically when available; false for the reference and software adapters. */
  automatic: boolean;
}

export interface ActiveBackend {
  name: BackendName;
  device: string;
  /** Backends tried before this one, and why each was passed over. */
  skipped: { name: BackendName; reason: string }[];
}

tf.env().set('PROD', true); // no debug checks, and no "install tfjs-node" banner

const cpuModel = () => `${os.cpus()[0]?.model?.trim() || 'CPU'}`;

async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

interface Candidate {
  probe(): Promise<BackendReport>;
  /** Registers and selects the backend; returns the device description or throws with a reason. */
  activate(allowSoftware: boolean): Promise<string>;
}

const candidates: Record<BackendName, Candidate> = {
  webgpu: {
    async probe() {
      const r = await probeAdapter();
      if (!r.ok) return { name: 'webgpu', available: false, note: r.reason, automatic: false };
      return r.adapter.software
        ? { name: 'webgpu', available: true, device: r.adapter.description, automatic: false,
            note: 'software adapter: correct but far slower than the CPU path, so used only when asked for' }
        : { name: 'webgpu', available: true, device: r.adapter.description, automatic: true };
    },
    async activate(allowSoftware) {
      const r = await probeAdapter();
      if (!r.ok) throw new Error(r.reason);
      if (r.adapter.software && !allowSoftware) throw new Error(`only a software adapter (${r.adapter.description})`);
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to initialise');
      return `${r.adapter.description}${r.adapter.software ? ' (software)' : ''}`;
    },
  },
  tensorflow: {
    async probe() {
      const found = (await tryImport('@tensorflow/tfjs-node-gpu')) || (await tryImport('@tensorflow/tfjs-node'));
      return found
        ? { name: 'tensorflow', available: true, device: 'libtensorflow', automatic: true }
        : { name: 'tensorflow', available: false, automatic: false,
            note: 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (they download libtensorflow at install time)' };
    },
    async activate() {
      if (!((await tryImport('@tensorflow/tfjs-node-gpu')) || (await tryImport('@tensorflow/tfjs-node'))))
        throw new Error('tfjs-node is not installed');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend failed to initialise');
      return 'libtensorflow';
    },
  },
  native: {
    async probe() {
      const load = loadNativeKernels();
      if (!load.ok) return { name: 'native', available: false, note: load.reason, automatic: false };
      const info = load.kernels.info();
      return { name: 'native', available: true, automatic: true, device: `${cpuModel()}, ${info.threads} threads, ${info.isa}` };
    },
    async activate() {
      const load = loadNativeKernels();
      if (!load.ok) throw new Error(load.reason);
      registerNativeBackend(load.kernels);
      if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error('the native backend failed to initialise');
      const info = load.kernels.info();
      return `${cpuModel()}, ${info.threads} threads, ${info.isa}`;
    },
  },
  wasm: {
    async probe() {
      const ok = await tryImport('@tensorflow/tfjs-backend-wasm');
      return ok
        ? { name: 'wasm', available: true, automatic: true, device: `${cpuModel()}, 1 thread, SIMD`,
            note: 'portable fallback; single-threaded in Node' }
        : { name: 'wasm', available: false, automatic: false, note: '@tensorflow/tfjs-backend-wasm is not installed' };
    },
    async activate() {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
      wasm.setWasmPaths(dist + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
      registerWasmTrainingKernels();
      return `${cpuModel()}, 1 thread, SIMD`;
    },
  },
  cpu: {
    async probe() {
      return { name: 'cpu', available: true, automatic: false, device: cpuModel(), note: 'pure JavaScript reference: for tests, too slow to train' };
    },
    async activate() {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      return cpuModel();
    },
  },
};

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** What each backend would be on this machine, best first (`loupe backends`). */
export async function probeBackends(): Promise<BackendReport[]> {
  const out: BackendReport[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      out.push(await candidates[name].probe());
    } catch (err) {
      out.push({ name, available: false, automatic: false, note: (err as Error).message });
    }
  }
  return out;
}

let active: ActiveBackend | undefined;

/**
 * Selects a backend. With `requested`, that one is tried first (software GPUs allowed); when it
 * fails, and unless `strict`, the automatic order continues and `skipped` says what happened.
 */
export async function activateBackend(requested?: BackendName, options: { strict?: boolean } = {}): Promise<ActiveBackend> {
  if (active && (!requested || active.name === requested)) return active;
  const order: BackendName[] = requested
    ? [requested, ...BACKEND_NAMES.filter((n) => n !== requested && n !== 'cpu')]
    : BACKEND_NAMES.filter((n) => n !== 'cpu');
  const skipped: ActiveBackend['skipped'] = [];
  // LOUPE_DISABLE_BACKENDS=webgpu,native: a way around a misbehaving driver or build.
  const disabled = new Set((process.env.LOUPE_DISABLE_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  for (const name of order) {
    if (disabled.has(name)) {
      skipped.push({ name, reason: 'disabled by LOUPE_DISABLE_BACKENDS' });
      if (name === requested && options.strict) throw new LoupeError('unsupported', `The ${name} backend is disabled by LOUPE_DISABLE_BACKENDS.`);
      continue;
    }
    try {
      const device = await candidates[name].activate(name === requested);
      active = { name, device, skipped };
      return active;
    } catch (err) {
      const reason = (err as Error).message;
      if (name === requested && options.strict)
        throw new LoupeError('unsupported', `The ${name} backend is not available here: ${reason}.`, {
          hint: 'Run "loupe backends" to see what this machine offers.', cause: err });
      skipped.push({ name, reason });
    }
  }
  throw new LoupeError('unsupported', `No compute backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}.`, {
    hint: 'Reinstall Loupe (npm ci) so that its native kernels or the wasm backend are present.' });
}

export function activeBackend(): ActiveBackend | undefined {
  return active;
}

/** For tests that compare backends on the same computation. */
export async function useBackendForTest(name: BackendName): Promise<void> {
  active = undefined;
  await activateBackend(name, { strict: true });
}
