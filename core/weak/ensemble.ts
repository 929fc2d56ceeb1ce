// The usefulness ensemble of interactive weak supervision (Boecking et al., ICLR 2021; DESIGN §6):
// small MLPs (fingerprint → 10 → 10 → 1, ReLU, sigmoid), each trained on a bootstrap sample of
// the judged LFs with weighted binary cross-entropy (Adam, L2, early stopping on the members'
// out-of-bag LFs), predicting P(useful) for every LF. The spread across members is the
// uncertainty the acquisition function needs.
//
// The nets learn a correction to a prior, not P(useful) from nothing: given one (what the user's
// example images and the rule's novelty say of each LF, acquisition.ts usefulnessPrior), its
// logit times a learnt gain (starting at 1) is added to the output. From fingerprints alone, 50 answers were not enough to beat the prior
// itself (Fashion-MNIST, two draws: AUC 0.69 / 0.61 on the unjudged LFs against the prior's
// 0.80 / 0.76); with it, 0.82 / 0.81, and 0.88 / 0.84 at 100 answers.
//
// Plain JS: the nets have ~1,700 weights and see at most a few hundred judged LFs, far below
// the size where a tensor library's per-call overhead pays off.
import { Rng } from '../engine/rng.ts';

export interface EnsembleOptions {
  members?: number;
  hidden?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  patience?: number;
  seed?: number;
  /**
   * P(useful) before any answer: reported while the answers cannot train a model (none yet, or
   * all alike), and the base the nets correct afterwards.
   */
  prior?: Float32Array;
}

export interface UsefulnessPrediction {
  mean: Float32Array;
  std: Float32Array;
}

interface Net {
  w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array; w3: Float64Array; b3: Float64Array;
  /** Weight of the prior's logit, added to the output (starts at 1: the prior until answers say otherwise). */
  gain: Float64Array;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function initNet(d: number, h: number, rng: Rng): Net {
  const he = (fanIn: number, count: number) => Float64Array.from({ length: count }, () => rng.normal() * Math.sqrt(2 / fanIn));
  return { w1: he(d, d * h), b1: new Float64Array(h), w2: he(h, h * h), b2: new Float64Array(h), w3: he(h, h), b3: new Float64Array(1), gain: Float64Array.of(1) };
}

function forward(net: Net, x: Float32Array, o: number, d: number, h: number, h1: Float64Array, h2: Float64Array): number {
  for (let a = 0; a < h; a++) {
    let s = net.b1[a]!;
    for (let j = 0; j < d; j++) s += x[o + j]! * net.w1[j * h + a]!;
    h1[a] = s > 0 ? s : 0;
  }
  for (let b = 0; b < h; b++) {
    let s = net.b2[b]!;
    for (let a = 0; a < h; a++) s += h1[a]! * net.w2[a * h + b]!;
    h2[b] = s > 0 ? s : 0;
  }
  let z = net.b3[0]!;
  for (let b = 0; b < h; b++) z += h2[b]! * net.w3[b]!;
  return z;
}

/** The log-odds of a prior probability, clipped to [0.02, 0.98]: no prior is certain. */
export function priorLogOdds(p: number): number {
  const q = Math.min(0.98, Math.max(0.02, p));
  return Math.log(q / (1 - q));
}

/** Standardises fingerprint columns (so SVD components and class one-hots weigh alike). */
function standardise(x: Float32Array, d: number): Float32Array {
  const n = x.length / d;
  const out = new Float32Array(x.length);
  for (let j = 0; j < d; j++) {
    let m = 0, v = 0;
    for (let i = 0; i < n; i++) m += x[i * d + j]!;
    m /= n;
    for (let i = 0; i < n; i++) v += (x[i * d + j]! - m) ** 2;
    const s = Math.sqrt(v / n) || 1;
    for (let i = 0; i < n; i++) out[i * d + j] = (x[i * d + j]! - m) / s;
  }
  return out;
}

/**
 * Trains the ensemble on the judged LFs (`judged[i]` is an LF index, `label` 1 useful / 0 not,
 * `weight` the answer's confidence) and predicts every LF.
 */
export function predictUsefulness(fingerprint: Float32Array, dim: number, judged: { lf: number; label: 0 | 1; weight: number }[],
  options: EnsembleOptions = {}): UsefulnessPrediction {
  const J = fingerprint.length / dim;
  const members = options.members ?? 20, h = options.hidden ?? 10, epochs = options.epochs ?? 150;
  const lr = options.learningRate ?? 0.01, l2 = options.l2 ?? 1e-4, patience = options.patience ?? 20;
  const rng = new Rng(options.seed ?? 0);
  const x = standardise(fingerprint, dim);
  const offset = Float64Array.from({ length: J }, (_, j) => (options.prior ? priorLogOdds(options.prior[j]!) : 0));
  const out = (net: Net, j: number) => forward(net, x, j * dim, dim, h, h1, h2) + net.gain[0]! * offset[j]!;
  const sum = new Float64Array(J), sumSq = new Float64Array(J);
  if (judged.length === 0 || new Set(judged.map((j) => j.label)).size < 2) {
    // Nothing to learn from yet (or only one kind of answer): the prior, maximally uncertain.
    return { mean: options.prior?.slice() ?? new Float32Array(J).fill(0.5), std: new Float32Array(J).fill(0.5) };
  }
  const h1 = new Float64Array(h), h2 = new Float64Array(h);
  for (let m = 0; m < members; m++) {
    const net = initNet(dim, h, rng);
    const bag = judged.map(() => judged[rng.int(judged.length)]!);
    const inBag = new Set(bag.map((b) => b.lf));
    const oob = judged.filter((j) => !inBag.has(j.lf));
    // Adam state over all parameters, as flat views.
    const params = [net.w1, net.b1, net.w2, net.b2, net.w3, net.b3, net.gain];
    const grads = params.map((p) => new Float64Array(p.length));
    const m1 = params.map((p) => new Float64Array(p.length)), m2 = params.map((p) => new Float64Array(p.length));
    let best = Infinity, bestNet: Net | null = null, since = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      grads.forEach((g) => g.fill(0));
      const [gw1, gb1, gw2, gb2, gw3, gb3, gGain] = grads as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
      let wsum = 0;
      for (const s of bag) {
        const o = s.lf * dim;
        const z = out(net, s.lf);
        const dz = (sigmoid(z) - s.label) * s.weight;
        wsum += s.weight;
        gb3[0]! += dz;
        gGain[0]! += dz * offset[s.lf]!;
        const d2 = new Float64Array(h);
        for (let b = 0; b < h; b++) {
          gw3[b]! += dz * h2[b]!;
          d2[b] = h2[b]! > 0 ? dz * net.w3[b]! : 0;
        }
        const d1 = new Float64Array(h);
        for (let a = 0; a < h; a++) {
          let s2 = 0;
          for (let b = 0; b < h; b++) {
            gw2[a * h + b]! += h1[a]! * d2[b]!;
            s2 += net.w2[a * h + b]! * d2[b]!;
          }
          d1[a] = h1[a]! > 0 ? s2 : 0;
        }
        for (let b = 0; b < h; b++) gb2[b]! += d2[b]!;
        for (let a = 0; a < h; a++) {
          gb1[a]! += d1[a]!;
          if (d1[a] === 0) continue;
          for (let j = 0; j < dim; j++) gw1[j * h + a]! += x[o + j]! * d1[a]!;
        }
      }
      const b1c = 1 - 0.9 ** epoch, b2c = 1 - 0.999 ** epoch;
      params.forEach((p, k) => {
        const g = grads[k]!, mm = m1[k]!, vv = m2[k]!;
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! / wsum + l2 * p[i]!;
          mm[i] = 0.9 * mm[i]! + 0.1 * gi;
          vv[i] = 0.999 * vv[i]! + 0.001 * gi * gi;
          p[i]! -= (lr * (mm[i]! / b1c)) / (Math.sqrt(vv[i]! / b2c) + 1e-8);
        }
      });
      if (oob.length > 0) {
        let loss = 0;
        for (const s of oob) {
          const p = Math.min(1 - 1e-7, Math.max(1e-7, sigmoid(out(net, s.lf))));
          loss -= s.weight * (s.label ? Math.log(p) : Math.log(1 - p));
        }
        if (loss < best - 1e-6) {
          best = loss;
          since = 0;
          bestNet = { w1: net.w1.slice(), b1: net.b1.slice(), w2: net.w2.slice(), b2: net.b2.slice(), w3: net.w3.slice(), b3: net.b3.slice(), gain: net.gain.slice() };
        } else if (++since >= patience) break;
      }
    }
    const final = bestNet ?? net;
    for (let j = 0; j < J; j++) {
      const p = sigmoid(out(final, j));
      sum[j]! += p;
      sumSq[j]! += p * p;
    }
  }
  const mean = Float32Array.from(sum, (s) => s / members);
  const std = Float32Array.from(sumSq, (s, j) => Math.sqrt(Math.max(0, s / members - mean[j]! ** 2)));
  return { mean, std };
}
