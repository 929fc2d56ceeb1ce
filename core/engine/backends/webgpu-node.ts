// WebGPU in Node through Dawn (the optional `webgpu` npm package). Electron and Chromium have
// navigator.gpu natively and skip this file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AdapterSummary {
  description: string;
  /** A CPU implementation of WebGPU (SwiftShader, lavapipe): correct, far slower than the CPU path. */
  software: boolean;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  isFallbackAdapter?: boolean;
}

/** Where Debian's chromium keeps its SwiftShader Vulkan driver and Vulkan loader. */
export const CHROMIUM_LIB = '/usr/lib/chromium';

/**
 * Environment for a child process that should see chromium's SwiftShader as its Vulkan device
 * (a CPU implementation of WebGPU: for correctness tests on machines without a GPU). The loader
 * path must be set before the process starts, hence a child. Undefined when chromium is absent.
 */
export function softwareWebGpuEnv(): Record<string, string> | undefined {
  const icd = path.join(CHROMIUM_LIB, 'vk_swiftshader_icd.json');
  if (!fs.existsSync(icd) || !fs.existsSync(path.join(CHROMIUM_LIB, 'libvulkan.so.1'))) return undefined;
  return { VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}

export function describeAdapter(adapter: GpuAdapterLike): AdapterSummary {
  const info = adapter.info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ').trim();
  const software = Boolean(adapter.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/i.test(text);
  return { description: text || 'unnamed WebGPU adapter', software };
}

let installed: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

/** Gives this Node process a navigator.gpu backed by Dawn. */
export function installNodeWebGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
  installed ??= (async () => {
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    if (g.navigator?.gpu) return { ok: true as const };
    let mod: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch (err) {
      return { ok: false as const, reason: `the optional "webgpu" package did not load (${(err as Error).message.split('\n')[0]})` };
    }
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js ${process.version} (${os.platform()})` }, configurable: true });
    return { ok: true as const };
  })();
  return installed;
}

/**
 * On Linux Dawn needs the Vulkan loader; without it Dawn prints a warning to stderr on every
 * probe. Checking first keeps `loupe train` quiet on machines without a GPU stack.
 */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

export async function probeAdapter(): Promise<{ ok: true; adapter: AdapterSummary } | { ok: false; reason: string }> {
  if (!vulkanLoaderPresent()) return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1) is installed, so no GPU driver can be reached' };
  const setup = await installNodeWebGpu();
  if (!setup.ok) return setup;
  const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } } }).navigator.gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter: no GPU with a Vulkan, Metal or Direct3D 12 driver was found' };
  return { ok: true, adapter: describeAdapter(adapter) };
}
