// A small classifier on frozen features: the linear probe of the methods benchmark and the end
// model of weak supervision (DESIGN §6). Soft targets give the noise-aware loss of Snorkel's end
// model (cross-entropy against probabilistic labels, weighted by confidence); hard targets are
// one-hot. Features are standardised with the training rows' statistics; full-batch Adam.
import * as tf from '@tensorflow/tfjs';
import { loadNativeKernels, type NativeKernels } from '../engine/backends/native-kernels.ts';
import { Rng } from '../engine/rng.ts';

export interface ClassifierOptions {
  classes: number;
  /** Hidden units of one ReLU layer; 0: linear (multinomial logistic regression). */
  hidden?: number;
  epochs?: number;
  learningRate?: number;
  /** L2 penalty on the weights. */
  l2?: number;
  /** Mini-batch size; 0: full batch. */
  batchSize?: number;
  seed?: number;
  /** Per-row weights (e.g. label-model confidence); default 1. */
  weights?: Float32Array;
  /** Checked between epochs: a long fit (a million rows) can be cancelled. */
  signal?: AbortSignal;
  /** Called every few epochs with the epochs done; the fit yields to the event loop there. */
  onEpoch?: (done: number, total: number) => void;
  /** Fit a linear full-batch model with the tfjs graph too (the reference fitLinear is checked against). */
  graph?: boolean;
}

export interface Classifier {
  dim: number;
  classes: number;
  mean: Float32Array;
  std: Float32Array;
  layers: { kernel: Float32Array; bias: Float32Array; in: number; out: number }[];
}

/** The given rows of an n × dim matrix, in order. */
export function rowsOf(features: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

/** Targets: a class index per row (Int32Array) or an n×classes matrix of probabilities (Float32Array). */
export async function trainClassifier(features: Float32Array, dim: number, rows: number[], targets: Int32Array | Float32Array, options: ClassifierOptions): Promise<Classifier> {
  const c = options.classes, hidden = options.hidden ?? 0;
  const n = rows.length;
  if (n === 0) throw new Error('no training rows');
  const x = rowsOf(features, dim, rows);
  const mean = new Float32Array(dim), std = new Float32Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) std[j]! += (x[i * dim + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]!) + 1e-6;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = (x[i * dim + j]! - mean[j]!) / std[j]!;
  const y = new Float32Array(n * c);
  if (targets instanceof Int32Array) rows.forEach((_, i) => { y[i * c + targets[i]!] = 1; });
  else y.set(targets.subarray(0, n * c));
  const rng = new Rng(options.seed ?? 0);
  const sizes = hidden > 0 ? [dim, hidden, c] : [dim, c];
  const init = sizes.slice(1).map((out, l) => {
    const fanIn = sizes[l]!;
    const scale = Math.sqrt(2 / fanIn) * (l === sizes.length - 2 ? 0.1 : 1);
    return Float32Array.from({ length: fanIn * out }, () => rng.normal() * scale);
  });
  const l2 = options.l2 ?? 1e-4, epochs = options.epochs ?? 200;
  const batch = options.batchSize && options.batchSize < n ? options.batchSize : n;
  if (hidden === 0 && batch === n && !options.graph) return { dim, classes: c, mean, std, layers: [await fitLinear(x, y, n, dim, c, init[0]!, options)] };
  const vars = sizes.slice(1).map((out, l) => ({ kernel: tf.variable(tf.tensor2d(init[l]!, [sizes[l]!, out])), bias: tf.variable(tf.zeros([out])) }));
  const xt = tf.tensor2d(x, [n, dim]), yt = tf.tensor2d(y, [n, c]);
  const wt = tf.tensor1d(options.weights ? options.weights.subarray(0, n) : new Float32Array(n).fill(1));
  const optimizer = tf.train.adam(options.learningRate ?? 0.01);
  const forward = (input: tf.Tensor2D) => vars.reduce<tf.Tensor2D>((h, v, l) => {
    const z = tf.add(tf.matMul(h, v.kernel), v.bias) as tf.Tensor2D;
    return l < vars.length - 1 ? tf.relu(z) : z;
  }, input);
  try {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const perm = batch < n ? rng.shuffle(order.slice()) : order;
      for (let start = 0; start < n; start += batch) {
        const idx = batch < n ? tf.tensor1d(perm.slice(start, start + batch), 'int32') : null;
        optimizer.minimize(() => {
          const xb = idx ? tf.gather(xt, idx) : xt, yb = idx ? tf.gather(yt, idx) : yt, wb = idx ? tf.gather(wt, idx) : wt;
          const ce = tf.neg(tf.sum(tf.mul(yb, tf.logSoftmax(forward(xb as tf.Tensor2D))), 1));
          const data = tf.div(tf.sum(tf.mul(ce, wb)), tf.add(tf.sum(wb), 1e-12));
          return tf.add(data, tf.mul(l2, tf.addN(vars.map((v) => tf.sum(tf.square(v.kernel)))))) as tf.Scalar;
        });
        idx?.dispose();
      }
      if ((options.signal || options.onEpoch) && ((epoch + 1) % 10 === 0 || epoch + 1 === epochs)) {
        options.onEpoch?.(epoch + 1, epochs);
        await new Promise((resolve) => setTimeout(resolve, 0));
        options.signal?.throwIfAborted();
      }
    }
    const layers = [];
    for (let l = 0; l < vars.length; l++) {
      layers.push({ kernel: (await vars[l]!.kernel.data()) as Float32Array, bias: (await vars[l]!.bias.data()) as Float32Array, in: sizes[l]!, out: sizes[l + 1]! });
    }
    return { dim, classes: c, mean, std, layers };
  } finally {
    tf.dispose([xt, yt, wt, ...vars.flatMap((v) => [v.kernel, v.bias])]);
    optimizer.dispose();
  }
}

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }; // tf.train.adam's defaults (float32 epsilon)

/** c = a·b (transposeA: aᵀ·b), a m×k (k×m), b k×n; the native GEMM when given, else loops. Exported for its test. */
export function gemm(native: NativeKernels | null, a: Float32Array, b: Float32Array, out: Float32Array, m: number, n: number, k: number, transposeA: boolean): void {
  if (native) return native.matmul(a, b, out, Int32Array.from([1, 1, m, n, k, transposeA ? 1 : 0, 0]));
  out.fill(0);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < k; t++) {
      const av = transposeA ? a[t * m + i]! : a[i * k + t]!;
      if (av === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += av * b[t * n + j]!;
    }
  }
}

/**
 * The linear full-batch fit by hand: the same model, loss and optimiser as the tfjs graph of
 * trainClassifier (weighted soft cross-entropy, L2 on the kernel, Adam with tfjs's defaults).
 * Why by hand: with a few thousand rows and ten classes, each tfjs epoch is ~40 ms of broadcasting
 * element-wise kernels around two small products (5,000 rows × 128 dims, 200 epochs: 8.7 s);
 * here the two products go to the native GEMM and the rest is one pass over rows × classes.
 * The end model, the active-labelling suggestions and the linear probe all fit this way.
 */
async function fitLinear(x: Float32Array, y: Float32Array, n: number, dim: number, c: number, kernel: Float32Array, options: ClassifierOptions): Promise<{ kernel: Float32Array; bias: Float32Array; in: number; out: number }> {
  const load = loadNativeKernels(), native = load.ok ? load.kernels : null;
  const lr = options.learningRate ?? 0.01, l2 = options.l2 ?? 1e-4, epochs = options.epochs ?? 200;
  const w = options.weights ? options.weights.subarray(0, n) : new Float32Array(n).fill(1);
  let wsum = 1e-12;
  for (let i = 0; i < n; i++) wsum += w[i]!;
  const bias = new Float32Array(c), z = new Float32Array(n * c), g = new Float32Array(n * c), gk = new Float32Array(dim * c);
  const mk = new Float64Array(dim * c), vk = new Float64Array(dim * c), mb = new Float64Array(c), vb = new Float64Array(c), gb = new Float64Array(c);
  let acc1 = ADAM.beta1, acc2 = ADAM.beta2;
  const step = (p: Float32Array, grad: ArrayLike<number>, m: Float64Array, v: Float64Array) => {
    for (let i = 0; i < p.length; i++) {
      m[i] = ADAM.beta1 * m[i]! + (1 - ADAM.beta1) * grad[i]!;
      v[i] = ADAM.beta2 * v[i]! + (1 - ADAM.beta2) * grad[i]! ** 2;
      p[i]! -= (lr * (m[i]! / (1 - acc1))) / (Math.sqrt(v[i]! / (1 - acc2)) + ADAM.epsilon);
    }
  };
  for (let epoch = 0; epoch < epochs; epoch++) {
    gemm(native, x, kernel, z, n, c, dim, false);
    gb.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * c;
      let max = -Infinity, sum = 0, ysum = 0;
      for (let k = 0; k < c; k++) max = Math.max(max, z[o + k]! + bias[k]!);
      for (let k = 0; k < c; k++) sum += (g[o + k] = Math.exp(z[o + k]! + bias[k]! - max));
      for (let k = 0; k < c; k++) ysum += y[o + k]!;
      // d(−Σ y log softmax(z))/dz = softmax(z)·Σy − y, weighted as in the mean over rows.
      const scale = w[i]! / wsum;
      for (let k = 0; k < c; k++) gb[k]! += (g[o + k] = scale * ((g[o + k]! / sum) * ysum - y[o + k]!));
    }
    gemm(native, x, g, gk, dim, c, n, true);
    for (let i = 0; i < gk.length; i++) gk[i]! += 2 * l2 * kernel[i]!;
    step(kernel, gk, mk, vk);
    step(bias, gb, mb, vb);
    acc1 *= ADAM.beta1;
    acc2 *= ADAM.beta2;
    if ((options.signal || options.onEpoch) && ((epoch + 1) % 10 === 0 || epoch + 1 === epochs)) {
      options.onEpoch?.(epoch + 1, epochs);
      await new Promise((resolve) => setTimeout(resolve, 0));
      options.signal?.throwIfAborted();
    }
  }
  return { kernel, bias, in: dim, out: c };
}

/** Class probabilities, rows × classes. Plain loops: prediction is cheap and needs no backend. */
export function predictProbabilities(model: Classifier, features: Float32Array, rows: number[]): Float32Array {
  const { dim, classes } = model;
  const out = new Float32Array(rows.length * classes);
  const widest = Math.max(...model.layers.map((l) => l.out), dim);
  let h = new Float32Array(widest), next = new Float32Array(widest);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) h[j] = (features[r * dim + j]! - model.mean[j]!) / model.std[j]!;
    model.layers.forEach((layer, l) => {
      for (let o = 0; o < layer.out; o++) {
        let s = layer.bias[o]!;
        for (let k = 0; k < layer.in; k++) s += h[k]! * layer.kernel[k * layer.out + o]!;
        next[o] = l < model.layers.length - 1 ? Math.max(0, s) : s;
      }
      [h, next] = [next, h];
    });
    let max = -Infinity, sum = 0;
    for (let k = 0; k < classes; k++) max = Math.max(max, h[k]!);
    for (let k = 0; k < classes; k++) sum += (out[i * classes + k] = Math.exp(h[k]! - max));
    for (let k = 0; k < classes; k++) out[i * classes + k]! /= sum;
  });
  return out;
}

export function argmaxRows(probs: Float32Array, classes: number): Int32Array {
  const n = probs.length / classes;
  return Int32Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k]! > probs[i * classes + best]!) best = k;
    return best;
  });
}

/** Linear-probe accuracy: a logistic regression on `train` rows, scored on `test` rows. */
export async function linearProbeAccuracy(features: Float32Array, dim: number, labels: Int32Array, train: number[], test: number[], classes: number): Promise<number> {
  const model = await trainClassifier(features, dim, train, Int32Array.from(train, (r) => labels[r]!), { classes, epochs: 300, learningRate: 0.01, l2: 1e-4 });
  const predicted = argmaxRows(predictProbabilities(model, features, test), classes);
  let correct = 0;
  test.forEach((r, i) => { if (predicted[i] === labels[r]) correct++; });
  return correct / test.length;
}
