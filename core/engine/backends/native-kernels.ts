// Loads Loupe's native kernel library (native/, N-API, so one binary serves Node and Electron).
// A prebuilt binary for the platform is preferred; a local build (npm ci compiles it when a C++
// toolchain is present) comes next. When neither loads, callers get the reason, not an exception.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeKernels {
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, sizes: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, sizes: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, sizes: Int32Array): void;
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, sizes: Int32Array): void;
  batchNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array,
    variance: Float32Array, sizes: Int32Array, epsilon: number, relu: boolean): void;
  batchNormGrad(dy: Float32Array, x: Float32Array, y: Float32Array, gamma: Float32Array, mean: Float32Array,
    variance: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, sizes: Int32Array,
    epsilon: number, relu: boolean): void;
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  addRelu(a: Float32Array, b: Float32Array, out: Float32Array): void;
  reluGrad(dy: Float32Array, y: Float32Array, out: Float32Array): void;
  avgPool(x: Float32Array, y: Float32Array, sizes: Int32Array): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, sizes: Int32Array): void;
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, wOut: Float32Array, mOut: Float32Array,
    vOut: Float32Array, hyper: Float32Array): void;
  cropAndResize(x: Float32Array, boxes: Float32Array, out: Float32Array, sizes: Int32Array): void;
  colorAffine(x: Float32Array, a: Float32Array, t: Float32Array, out: Float32Array, sizes: Int32Array, lo: number, hi: number): void;
  gaussianBlur(x: Float32Array, sigma: Float32Array, out: Float32Array, sizes: Int32Array): void;
  solarizeNormalize(x: Float32Array, flags: Float32Array, mean: Float32Array, std: Float32Array, out: Float32Array,
    sizes: Int32Array, threshold: number): void;
  maxPool(x: Float32Array, y: Float32Array, argmax: Int32Array, sizes: Int32Array): void;
  maxPoolGrad(dy: Float32Array, argmax: Int32Array, dx: Float32Array, sizes: Int32Array): void;
  /** Sinkhorn-Knopp kernels (core/cluster/sinkhorn.ts); absent from binaries older than them. */
  sinkhornPrepare?(a: Float32Array, shift: Float64Array, sizes: Int32Array, lambda: number): void;
  sinkhornPass?(a: Float32Array, c: Float64Array, rowMass: Float64Array, r: Float64Array, cAcc: Float64Array, sizes: Int32Array): void;
  sinkhornAssign?(a: Float32Array, c: Float64Array, labels: Int32Array, confidence: Float32Array, sizes: Int32Array): void;
  /** 2-D map kernels (core/cluster/umap.ts; native/src/umap.h). */
  knnExact?(x: Float32Array, idx: Int32Array, vals: Float32Array, sizes: Int32Array): void;
  umapEpochs?(head: Int32Array, tail: Int32Array, epochsPerSample: Float32Array, nextSample: Float32Array, nextNegative: Float32Array, y: Float32Array, rngState: Int32Array, sizes: Int32Array, params: Float32Array): void;
  /** Label spreading's diffusion steps (core/weak/propagate.ts; native/src/spread.h); absent from binaries older than it. */
  spreadDiffuse?(rowStart: Int32Array, col: Int32Array, s: Float64Array, y: Float64Array, f: Float64Array, scratch: Float64Array, sizes: Int32Array, keep: number): void;
  /** Returns the number of entries kept (see native/src/sinkhorn.h). */
  sinkhornSparsify?(logits: Float32Array, slotVals: Float32Array, slotCols: Int32Array, count: Int32Array, dropped: Float32Array, sizes: Int32Array, lambda: number, cutoff: number): number;
  sinkhornCompact?(slotVals: Float32Array, slotCols: Int32Array, count: Int32Array, vals: Float32Array, cols: Int32Array, rowPtr: Int32Array, sizes: Int32Array): void;
  sinkhornSparsePass?(vals: Float32Array, cols: Int32Array, rowPtr: Int32Array, c: Float64Array, rowMass: Float64Array, r: Float64Array, cAcc: Float64Array, sizes: Int32Array): void;
  /** Returns the truncation bound (see native/src/sinkhorn.h). */
  sinkhornSparseAssign?(vals: Float32Array, cols: Int32Array, rowPtr: Int32Array, dropped: Float32Array, c: Float64Array, labels: Int32Array, confidence: Float32Array, sizes: Int32Array): number;
  /** The label model's EM row loops (core/weak/label-model.ts; native/src/label_model.h). */
  labelModelSums?(used: Int32Array, q: Float32Array, rowStart: Int32Array, entryClass: Int32Array, entryCell: Int32Array, massIn: Float64Array, massOut: Float64Array, classTotal: Float64Array, noneIn: Float64Array, noneOut: Float64Array, sizes: Int32Array): void;
  labelModelPosteriors?(used: Int32Array, known: Int32Array, rowStart: Int32Array, entryClass: Int32Array, entryCell: Int32Array, base: Float64Array, term: Float64Array, abstain: Float64Array, q: Float32Array, sizes: Int32Array): void;
  info(): NativeInfo;
  /** threads: 0 keeps the current count; isa: '' keeps the best the CPU supports. */
  configure(threads: number, isa: '' | 'generic' | 'avx2' | 'avx512'): NativeInfo;
}

export interface NativeInfo {
  isa: 'generic' | 'avx2' | 'avx512';
  threads: number;
}

export type NativeLoad = { ok: true; kernels: NativeKernels; file: string } | { ok: false; reason: string };

/** native/ of the Loupe package, found upwards from this module (sources or a bundle in electron/dist). */
function nativeRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'native', 'binding.gyp'))) return path.join(dir, 'native');
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../native');
    dir = parent;
  }
}
const root = nativeRoot();

export function nativeKernelCandidates(): string[] {
  // LOUPE_NATIVE_LIBRARY points at another build (development, or a test of a broken binary).
  if (process.env.LOUPE_NATIVE_LIBRARY) return [path.resolve(process.env.LOUPE_NATIVE_LIBRARY)];
  return [
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'loupe_kernels.node'),
    path.join(root, 'build', 'Release', 'loupe_kernels.node'),
  ];
}

let cached: NativeLoad | undefined;

/** Milliseconds spent per kernel (and per conv shape), collected when LOUPE_KERNEL_PROFILE=1. */
export const kernelProfile = new Map<string, { ms: number; calls: number }>();

function profiled(kernels: NativeKernels): NativeKernels {
  const wrapped: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(kernels)) {
    const f = (kernels as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    wrapped[name] = (...args: unknown[]) => {
      const start = performance.now();
      const out = f(...args);
      const sizes = name.startsWith('conv') && args[3] instanceof Int32Array ? ` ${Array.from(args[3]).join(',')}` : '';
      const entry = kernelProfile.get(name + sizes) ?? { ms: 0, calls: 0 };
      entry.ms += performance.now() - start;
      entry.calls++;
      kernelProfile.set(name + sizes, entry);
      return out;
    };
  }
  return wrapped as unknown as NativeKernels;
}

export function loadNativeKernels(): NativeLoad {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const file of nativeKernelCandidates()) {
    if (!existsSync(file)) continue;
    try {
      const kernels = require(file) as NativeKernels;
      cached = { ok: true, kernels: process.env.LOUPE_KERNEL_PROFILE === '1' ? profiled(kernels) : kernels, file };
      return cached;
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  cached = {
    ok: false,
    reason: problems.length
      ? `the native kernel library did not load (${problems.join('; ')})`
      : `no native kernel library for ${process.platform}-${process.arch} (run "npm run build:native" with a C++ compiler installed)`,
  };
  return cached;
}
