// Sinkhorn-Knopp equipartition (SeLa, Asano et al. 2020, §3.1; DESIGN §5): pseudo-labels Q that
// agree with the model's log-probabilities L under the constraint that the clusters share the
// images in given proportions (equal by default). Q = diag(r) · exp(λL) · diag(c), with r and c
// found by alternating row and column normalisation.
//
// Three paths share one contract, tried in this order:
// - truncated (fastest, `sparse`): with λ = 25 almost every entry of A is below e^-30 of its
//   row's max, so only the entries above that are kept (a compare pass over L at memory speed;
//   exp only for the kept ones) and every iteration reads those few per row. After convergence a
//   bound on what the dropped entries could change in any marginal, k · dropped_i · max(c) /
//   (A c)_i, is checked against the tolerance; when it fails (flat rows, e.g. an untrained
//   head, or extreme column scalings) the dense path below runs instead. Hand-written rather than
//   a sparse-matrix library: the truncation, its bound and the fused pass are the whole point;
// - scaling (fast): A = exp(λ(L − rowmax)) is formed once (float32, per row chunk, so N in the
//   millions fits), then every iteration is one fused pass over A: r = a / (A c), then
//   c = b / (Aᵀ r). The native kernels run it multi-threaded and memory-bound; a JS loop is the
//   fallback. It needs the scalings to stay within float range;
//   When the column scalings drift out of the range float32 A·c handles (a head that prefers a
//   few clusters strongly, large λ), they are absorbed into A: A is formed again from L with
//   log c added to its columns and c restarts at 1 (stabilised scaling, Schmitzer 2019), at the
//   cost of one exp per entry. 5,000 × 128 confident, skewed predictions at λ = 25: 13 s in the
//   log domain, 0.2 s this way;
// - log domain (stable): u, v with log-sum-exp updates. Slower (an exp per entry per pass), used
//   when absorbing cannot help (the scalings leave range again at once) or A is overwritten in place.
// Stopping: the column marginals (rows are exact after each row update) are within `tolerance`
// (max relative error), or `maxIterations`.
import * as tf from '@tensorflow/tfjs';
import { loadNativeKernels, type NativeKernels } from '../engine/backends/native-kernels.ts';

export interface SinkhornOptions {
  /** Sharpness λ of P^λ; 25 in SeLa. Larger λ: assignments closer to the argmax. */
  lambda?: number;
  /** Max relative error of the column marginals at convergence. */
  tolerance?: number;
  maxIterations?: number;
  /** Prior cluster sizes (any positive scale); uniform when absent. */
  columnMarginals?: ArrayLike<number>;
  /** Per-row mass (any positive scale); uniform when absent. */
  rowMarginals?: ArrayLike<number>;
  /** Overwrite the input chunks with A to save memory (no log-domain fallback then). */
  inPlace?: boolean;
  /** 'auto' (truncated, then dense, native when available), or force a path (tests, benchmarks). */
  path?: 'auto' | 'sparse' | 'native' | 'js' | 'log';
  /** Truncated path: entries under e^-truncation of their row's max are dropped (default 30). */
  truncation?: number;
  /** Truncated path: at most this many entries are kept per row (default 64). */
  sparseCap?: number;
  /** Tests: run the truncated path in JS even where the native kernels are loaded. */
  forceJs?: boolean;
}

export interface SinkhornResult {
  labels: Int32Array;
  /** Q's row-normalised value at the label: how clearly the balanced assignment chose it. */
  confidence: Float32Array;
  iterations: number;
  converged: boolean;
  /** Max relative error of the column marginals at the end. */
  marginalError: number;
  path: 'sparse' | 'native' | 'js' | 'log';
  /** Truncated path: the bound on the marginal error the truncation can cause (else 0). */
  truncationBound: number;
  /** Number of images per cluster after assignment. */
  sizes: Int32Array;
}

type Chunks = Float32Array[];

function chunkRows(chunks: Chunks, k: number): number[] {
  return chunks.map((c) => {
    if (c.length % k !== 0) throw new Error(`a chunk of ${c.length} values is not a whole number of rows of ${k}`);
    return c.length / k;
  });
}

function normalised(values: ArrayLike<number> | undefined, n: number, what: string): Float64Array {
  const out = new Float64Array(n);
  if (!values) return out.fill(1 / n);
  if (values.length !== n) throw new Error(`${what} has ${values.length} entries, expected ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = Number(values[i]);
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${what} must be positive and finite`);
    sum += v;
  }
  for (let i = 0; i < n; i++) out[i] = Number(values[i]) / sum;
  return out;
}

let nativeCache: NativeKernels | null | undefined;
function native(): NativeKernels | null {
  if (nativeCache === undefined) {
    const load = loadNativeKernels();
    nativeCache = load.ok && load.kernels.sinkhornPass ? load.kernels : null;
  }
  return nativeCache;
}

/** Balanced assignment of N rows (given as one array or row chunks of N×K log-probabilities) to K clusters. */
export function sinkhorn(logits: Float32Array | Chunks, k: number, options: SinkhornOptions = {}): SinkhornResult {
  const chunks = Array.isArray(logits) ? logits : [logits];
  const rowsPer = chunkRows(chunks, k);
  const n = rowsPer.reduce((a, b) => a + b, 0);
  if (n === 0 || k < 1) throw new Error('Sinkhorn needs at least one row and one cluster');
  const want = options.path ?? 'auto';
  const kernels = want === 'js' || want === 'log' ? null : native();
  if (want === 'native' && !kernels) throw new Error('the native Sinkhorn kernels are not available');
  if (want === 'log') return sinkhornLogDomain(chunks, rowsPer, k, options);
  if (want === 'auto' || want === 'sparse') {
    const truncated = sinkhornTruncated(chunks, rowsPer, k, options, options.forceJs ? null : kernels);
    if (truncated || want === 'sparse') {
      if (!truncated) throw new Error('the truncated Sinkhorn kernel is not accurate enough for these predictions');
      return truncated;
    }
  }
  const result = sinkhornScaling(chunks, rowsPer, k, options, kernels);
  if (result) return result;
  if (options.inPlace) throw new Error('Sinkhorn scalings left float range (λ too large for these predictions); run without inPlace to use the log-domain path');
  return sinkhornLogDomain(chunks, rowsPer, k, options);
}

/** The fast path; null when the scalings leave the range where float32 A·c is exact enough. */
function sinkhornScaling(input: Chunks, rowsPer: number[], k: number, options: SinkhornOptions, kernels: NativeKernels | null): SinkhornResult | null {
  const lambda = options.lambda ?? 25, tolerance = options.tolerance ?? 1e-3;
  const n = rowsPer.reduce((a, b) => a + b, 0);
  const marginals = marginalsOf(options, n, k);
  const A = input.map((chunk) => (options.inPlace ? chunk : Float32Array.from(chunk)));
  const offsets = chunkOffsets(rowsPer);
  // exp(λ(L − rowmax) + log c_j − its row max): entries more than 87 nats under their row's max
  // are clamped to e^-87. Whether that clamp matters is checked through the range of c.
  const logC = new Float64Array(k);
  const prepare = () => A.forEach((chunk, ci) => {
    const rows = rowsPer[ci]!;
    if (logC.some((v) => v !== 0)) {
      const src = input[ci]!;
      for (let i = 0; i < rows * k; i++) chunk[i] = src[i]! + logC[i % k]! / lambda;
    }
    if (kernels) kernels.sinkhornPrepare!(chunk, new Float64Array(rows), Int32Array.of(rows, k), lambda);
    else prepareJs(chunk, rows, k, lambda);
  });
  prepare();
  const pass: ChunkPass = (ci, c, mass, uniformRows, r, acc) => {
    const rows = rowsPer[ci]!;
    if (kernels) kernels.sinkhornPass!(A[ci]!, c, mass, r, acc, Int32Array.of(rows, k, uniformRows ? 1 : 0));
    else passJs(A[ci]!, rows, k, c, mass, uniformRows, r, acc);
  };
  const maxIterations = options.maxIterations ?? 500;
  let solved = scalingIterations(rowsPer, k, marginals, { ...options, maxIterations }, pass);
  let iterations = solved.iterations;
  // Absorb c into A while that lets the iterations go on (never when A overwrote the input).
  while (solved.outOfRange && !options.inPlace && solved.iterations > 1 && iterations < maxIterations) {
    for (let j = 0; j < k; j++) logC[j]! += Math.log(solved.c[j]!);
    prepare();
    solved = scalingIterations(rowsPer, k, marginals, { ...options, maxIterations: maxIterations - iterations }, pass);
    iterations += solved.iterations;
  }
  if (solved.outOfRange) return null;
  const { c, error } = solved;
  const labels = new Int32Array(n), confidence = new Float32Array(n);
  A.forEach((chunk, ci) => {
    const rows = rowsPer[ci]!, off = offsets[ci]!;
    if (kernels) kernels.sinkhornAssign!(chunk, c, labels.subarray(off, off + rows), confidence.subarray(off, off + rows), Int32Array.of(rows, k));
    else assignJs(chunk, rows, k, c, labels.subarray(off, off + rows), confidence.subarray(off, off + rows));
  });
  return { labels, confidence, iterations, converged: error < tolerance, marginalError: error, path: kernels ? 'native' : 'js', truncationBound: 0, sizes: sizesOf(labels, k) };
}

/** First row of each chunk. */
function chunkOffsets(rowsPer: number[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const rows of rowsPer) {
    offsets.push(at);
    at += rows;
  }
  return offsets;
}

interface Marginals {
  /** Row masses (normalised). */
  a: Float64Array;
  /** Column masses (normalised). */
  b: Float64Array;
  uniformRows: boolean;
}

/** The target marginals, validated before any work touches the input. */
function marginalsOf(options: SinkhornOptions, n: number, k: number): Marginals {
  return { b: normalised(options.columnMarginals, k, 'columnMarginals'), a: normalised(options.rowMarginals, n, 'rowMarginals'), uniformRows: !options.rowMarginals };
}

/** One chunk's share of an iteration: r = mass / (A c) for its rows, then acc += Aᵀ r. */
type ChunkPass = (chunk: number, c: Float64Array, mass: Float64Array, uniformRows: boolean, r: Float64Array, acc: Float64Array) => void;

/**
 * The alternating row/column scaling shared by the dense and truncated kernels: the column
 * scaling c and how the iterations ended (outOfRange: they stopped because the scalings left
 * float range).
 */
function scalingIterations(rowsPer: number[], k: number, { a, b, uniformRows }: Marginals, options: SinkhornOptions, pass: ChunkPass): { c: Float64Array; iterations: number; error: number; outOfRange: boolean } {
  const tolerance = options.tolerance ?? 1e-3, maxIterations = options.maxIterations ?? 500;
  const n = a.length;
  const offsets = chunkOffsets(rowsPer);
  const uniformMass = Float64Array.of(1 / n);
  const r = new Float64Array(n);
  let c: Float64Array = new Float64Array(k).fill(1);
  let iterations = 0, error = Infinity;
  while (iterations < maxIterations) {
    const acc = new Float64Array(k);
    rowsPer.forEach((rows, ci) => {
      const off = offsets[ci]!;
      pass(ci, c, uniformRows ? uniformMass : a.subarray(off, off + rows), uniformRows, r.subarray(off, off + rows), acc);
    });
    iterations++;
    const step = columnUpdate(c, acc, b);
    error = step.error;
    // Out of range: c is the last scaling still in range (absorbable into A).
    if (!step.next) return { c, iterations, error, outOfRange: true };
    if (error < tolerance) break;
    c = step.next;
  }
  return { c, iterations, error, outOfRange: false };
}

/**
 * Column masses of Q after the row update are c_j · acc_j; the target is b_j. Returns the max
 * relative error and the next c, normalised to max(c) = 1 so float32 copies stay representable
 * (null when the scalings left float range).
 */
function columnUpdate(c: Float64Array, acc: Float64Array, b: Float64Array): { error: number; next: Float64Array | null } {
  const k = c.length;
  let error = 0, top = 0, lo = Infinity, hi = 0;
  const next = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    error = Math.max(error, Math.abs((c[j]! * acc[j]!) / b[j]! - 1));
    next[j] = b[j]! / acc[j]!;
    top = Math.max(top, next[j]!);
  }
  for (let j = 0; j < k; j++) {
    next[j]! /= top;
    lo = Math.min(lo, next[j]!);
    hi = Math.max(hi, next[j]!);
  }
  const ok = Number.isFinite(error) && lo > 0 && hi / lo <= 1e30;
  return { error, next: ok ? next : null };
}

/** One row chunk of the truncated kernel, compressed rows. */
interface TruncatedChunk {
  rows: number;
  vals: Float32Array;
  cols: Int32Array;
  rowPtr: Int32Array;
  dropped: Float32Array;
}

/** The truncated path; null when its bound says the dropped entries could matter. */
function sinkhornTruncated(input: Chunks, rowsPer: number[], k: number, options: SinkhornOptions, kernels: NativeKernels | null): SinkhornResult | null {
  const lambda = options.lambda ?? 25, tolerance = options.tolerance ?? 1e-3;
  const cutoff = options.truncation ?? 30, cap = Math.max(1, Math.min(k, options.sparseCap ?? 64));
  const useNative = kernels?.sinkhornSparsify ? kernels : null;
  const n = rowsPer.reduce((x, y) => x + y, 0);
  const marginals = marginalsOf(options, n, k);
  const offsets = chunkOffsets(rowsPer);
  // Native: rows go to scratch slots of `cap` (reused across chunks), then to exact-size CSR, so
  // memory is what is kept (≈ 20 entries per row), not rows × cap.
  const maxRows = Math.max(...rowsPer);
  const slots = useNative ? { vals: new Float32Array(maxRows * cap), cols: new Int32Array(maxRows * cap), count: new Int32Array(maxRows) } : null;
  const sparse: TruncatedChunk[] = input.map((chunk, ci) => {
    const rows = rowsPer[ci]!;
    const dropped = new Float32Array(rows);
    if (!useNative || !slots) return { rows, dropped, ...sparsifyJs(chunk, rows, k, lambda, cutoff, cap, dropped) };
    const count = slots.count.subarray(0, rows), slotVals = slots.vals.subarray(0, rows * cap), slotCols = slots.cols.subarray(0, rows * cap);
    const nnz = useNative.sinkhornSparsify!(chunk, slotVals, slotCols, count, dropped, Int32Array.of(rows, k, cap), lambda, cutoff);
    const t: TruncatedChunk = { rows, dropped, vals: new Float32Array(nnz), cols: new Int32Array(nnz), rowPtr: new Int32Array(rows + 1) };
    useNative.sinkhornCompact!(slotVals, slotCols, count, t.vals, t.cols, t.rowPtr, Int32Array.of(rows, cap, nnz));
    return t;
  });
  const solved = scalingIterations(rowsPer, k, marginals, options, (ci, c, mass, uniformRows, r, acc) => {
    const t = sparse[ci]!;
    if (useNative) useNative.sinkhornSparsePass!(t.vals, t.cols, t.rowPtr, c, mass, r, acc, Int32Array.of(t.rows, k, t.vals.length, uniformRows ? 1 : 0));
    else sparsePassJs(t, c, mass, uniformRows, r, acc);
  });
  if (solved.outOfRange) return null;
  const { c, iterations, error } = solved;
  const labels = new Int32Array(n), confidence = new Float32Array(n);
  let bound = 0;
  sparse.forEach((t, ci) => {
    const off = offsets[ci]!;
    const l = labels.subarray(off, off + t.rows), conf = confidence.subarray(off, off + t.rows);
    bound = Math.max(bound, useNative ? useNative.sinkhornSparseAssign!(t.vals, t.cols, t.rowPtr, t.dropped, c, l, conf, Int32Array.of(t.rows, k, t.vals.length)) : sparseAssignJs(t, k, c, l, conf));
  });
  // A quarter of the tolerance for the truncation, the rest for the iterations.
  if (!(bound <= tolerance / 4)) return null;
  return { labels, confidence, iterations, converged: error < tolerance, marginalError: error + bound, path: 'sparse', truncationBound: bound, sizes: sizesOf(labels, k) };
}

function sparsifyJs(L: Float32Array, rows: number, k: number, lambda: number, cutoff: number, cap: number, dropped: Float32Array): Pick<TruncatedChunk, 'vals' | 'cols' | 'rowPtr'> {
  const vals: number[] = [], cols: number[] = [], rowPtr = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, L[i * k + j]!);
    // Keep the (at most cap) largest entries within the cutoff.
    const candidates: number[] = [];
    let below = -Infinity;
    for (let j = 0; j < k; j++) {
      if (lambda * (L[i * k + j]! - m) >= -cutoff) candidates.push(j);
      else below = Math.max(below, L[i * k + j]!);
    }
    if (candidates.length > cap) {
      candidates.sort((x, y) => L[i * k + y]! - L[i * k + x]!);
      for (const j of candidates.splice(cap)) below = Math.max(below, L[i * k + j]!);
    }
    rowPtr[i] = vals.length;
    for (const j of candidates) {
      vals.push(Math.exp(lambda * (L[i * k + j]! - m)));
      cols.push(j);
    }
    dropped[i] = below === -Infinity ? 0 : Math.exp(lambda * (below - m));
  }
  rowPtr[rows] = vals.length;
  return { vals: Float32Array.from(vals), cols: Int32Array.from(cols), rowPtr };
}

function sparsePassJs(t: TruncatedChunk, c: Float64Array, mass: Float64Array, uniform: boolean, r: Float64Array, acc: Float64Array): void {
  for (let i = 0; i < t.rows; i++) {
    let dot = 0;
    for (let e = t.rowPtr[i]!; e < t.rowPtr[i + 1]!; e++) dot += t.vals[e]! * c[t.cols[e]!]!;
    const ri = dot > 0 ? (uniform ? mass[0]! : mass[i]!) / dot : 0;
    r[i] = ri;
    for (let e = t.rowPtr[i]!; e < t.rowPtr[i + 1]!; e++) acc[t.cols[e]!]! += ri * t.vals[e]!;
  }
}

function sparseAssignJs(t: TruncatedChunk, k: number, c: Float64Array, labels: Int32Array, confidence: Float32Array): number {
  let cMax = 0, bound = 0;
  for (const v of c) cMax = Math.max(cMax, v);
  for (let i = 0; i < t.rows; i++) {
    let total = 0, best = -1, arg = 0;
    for (let e = t.rowPtr[i]!; e < t.rowPtr[i + 1]!; e++) {
      const x = t.vals[e]! * c[t.cols[e]!]!;
      total += x;
      if (x > best) {
        best = x;
        arg = t.cols[e]!;
      }
    }
    labels[i] = arg;
    confidence[i] = total > 0 ? best / total : 0;
    const leftOut = (k - (t.rowPtr[i + 1]! - t.rowPtr[i]!)) * t.dropped[i]! * cMax;
    bound = Math.max(bound, total > 0 ? leftOut / total : leftOut > 0 ? Infinity : 0);
  }
  return bound;
}

function prepareJs(a: Float32Array, rows: number, k: number, lambda: number): void {
  for (let i = 0; i < rows; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, a[i * k + j]!);
    for (let j = 0; j < k; j++) a[i * k + j] = Math.exp(Math.max(-87, lambda * (a[i * k + j]! - m)));
  }
}

function passJs(a: Float32Array, rows: number, k: number, c: Float64Array, mass: Float64Array, uniform: boolean, r: Float64Array, acc: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    let dot = 0;
    for (let j = 0; j < k; j++) dot += a[i * k + j]! * c[j]!;
    const ri = dot > 0 ? (uniform ? mass[0]! : mass[i]!) / dot : 0;
    r[i] = ri;
    for (let j = 0; j < k; j++) acc[j]! += ri * a[i * k + j]!;
  }
}

function assignJs(a: Float32Array, rows: number, k: number, c: Float64Array, labels: Int32Array, confidence: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    let best = -1, arg = 0, total = 0;
    for (let j = 0; j < k; j++) {
      const v = a[i * k + j]! * c[j]!;
      total += v;
      if (v > best) {
        best = v;
        arg = j;
      }
    }
    labels[i] = arg;
    confidence[i] = total > 0 ? best / total : 0;
  }
}

function sizesOf(labels: Int32Array, k: number): Int32Array {
  const sizes = new Int32Array(k);
  for (const l of labels) sizes[l]!++;
  return sizes;
}

/** Log-domain iterations: log Q = λL + u_i + v_j; stable for any λ. */
function sinkhornLogDomain(chunks: Chunks, rowsPer: number[], k: number, options: SinkhornOptions): SinkhornResult {
  const lambda = options.lambda ?? 25, tolerance = options.tolerance ?? 1e-3, maxIterations = options.maxIterations ?? 500;
  const n = rowsPer.reduce((x, y) => x + y, 0);
  const logB = Float64Array.from(normalised(options.columnMarginals, k, 'columnMarginals'), Math.log);
  const logA = Float64Array.from(normalised(options.rowMarginals, n, 'rowMarginals'), Math.log);
  const u = new Float64Array(n), v = new Float64Array(k);
  let iterations = 0, error = Infinity;
  const colMax = new Float64Array(k), colSum = new Float64Array(k);
  while (iterations < maxIterations) {
    // Row update, then column log-sums of the row-normalised Q in the same pass (online max).
    colMax.fill(-Infinity);
    colSum.fill(0);
    let row = 0;
    for (let ci = 0; ci < chunks.length; ci++) {
      const L = chunks[ci]!;
      for (let i = 0; i < rowsPer[ci]!; i++, row++) {
        let m = -Infinity;
        for (let j = 0; j < k; j++) m = Math.max(m, lambda * L[i * k + j]! + v[j]!);
        let s = 0;
        for (let j = 0; j < k; j++) s += Math.exp(lambda * L[i * k + j]! + v[j]! - m);
        u[row] = logA[row]! - m - Math.log(s);
        for (let j = 0; j < k; j++) {
          const x = lambda * L[i * k + j]! + u[row]!;
          if (x > colMax[j]!) {
            colSum[j] = colSum[j]! * Math.exp(colMax[j]! - x) + 1;
            colMax[j] = x;
          } else colSum[j]! += Math.exp(x - colMax[j]!);
        }
      }
    }
    iterations++;
    error = 0;
    for (let j = 0; j < k; j++) {
      const logColumn = colMax[j]! + Math.log(colSum[j]!); // log Σ_i exp(λL_ij + u_i)
      error = Math.max(error, Math.abs(Math.exp(logColumn + v[j]! - logB[j]!) - 1));
      v[j] = logB[j]! - logColumn;
    }
    if (error < tolerance) break;
  }
  const labels = new Int32Array(n), confidence = new Float32Array(n);
  let row = 0;
  for (let ci = 0; ci < chunks.length; ci++) {
    const L = chunks[ci]!;
    for (let i = 0; i < rowsPer[ci]!; i++, row++) {
      let best = -Infinity, arg = 0;
      for (let j = 0; j < k; j++) {
        const x = lambda * L[i * k + j]! + v[j]!;
        if (x > best) {
          best = x;
          arg = j;
        }
      }
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(lambda * L[i * k + j]! + v[j]! - best);
      labels[row] = arg;
      confidence[row] = 1 / s;
    }
  }
  return { labels, confidence, iterations, converged: error < tolerance, marginalError: error, path: 'log', truncationBound: 0, sizes: sizesOf(labels, k) };
}

/**
 * The same equipartition on a tfjs tensor (any backend: GPU memory stays on the GPU), in the log
 * domain; returns Q normalised per row (N×K), e.g. as soft targets. A few iterations suffice per
 * training batch (SwAV uses 3).
 */
export function sinkhornTensor(logits: tf.Tensor2D, options: { lambda?: number; iterations?: number; columnMarginals?: number[] } = {}): tf.Tensor2D {
  const lambda = options.lambda ?? 25, iterations = options.iterations ?? 50;
  return tf.tidy(() => {
    const [n, k] = logits.shape;
    const logB = options.columnMarginals ? tf.log(tf.div(tf.tensor1d(options.columnMarginals), tf.sum(tf.tensor1d(options.columnMarginals)))).reshape([1, k]) : tf.fill([1, k], -Math.log(k));
    const logA = -Math.log(n);
    const scaled = tf.mul(logits, lambda);
    let v: tf.Tensor = tf.zeros([1, k]);
    let u: tf.Tensor = tf.zeros([n, 1]);
    for (let t = 0; t < iterations; t++) {
      u = tf.sub(logA, tf.logSumExp(tf.add(scaled, v), 1, true));
      v = tf.sub(logB, tf.logSumExp(tf.add(scaled, u), 0, true));
    }
    const logQ = tf.add(tf.add(scaled, u), v);
    return tf.softmax(logQ) as tf.Tensor2D;
  });
}
