// The kNN monitor (Wu et al., 2018; as used by DINO and solo-learn): cosine similarity on
// L2-normalised features, the k = 20 nearest labelled neighbours vote with weight exp(sim/τ),
// τ = 0.07. Without a train/test split, every labelled image is classified by all the others
// (leave-one-out), so no labels are wasted.
import * as tf from '@tensorflow/tfjs';

export interface KnnOptions {
  k?: number;
  temperature?: number;
  /** Row indices used as the memory bank and as queries; leave-one-out when they coincide. */
  bank?: number[];
  queries?: number[];
}

export interface KnnResult {
  accuracy: number;
  queries: number;
  classes: number;
}

/** features: n×d (any scale, normalised here), labels: class index per row (−1: unlabelled, skipped). */
export async function knnAccuracy(features: Float32Array, dim: number, labels: Int32Array, options: KnnOptions = {}): Promise<KnnResult> {
  const k = options.k ?? 20, temperature = options.temperature ?? 0.07;
  const labelled = [...labels.keys()].filter((i) => labels[i]! >= 0);
  const bank = (options.bank ?? labelled).filter((i) => labels[i]! >= 0);
  const queries = (options.queries ?? labelled).filter((i) => labels[i]! >= 0);
  const classes = new Set(bank.map((i) => labels[i]!)).size;
  if (bank.length < 2 || queries.length === 0 || classes < 2) return { accuracy: NaN, queries: 0, classes };
  const leaveOneOut = !options.bank && !options.queries;
  const numClasses = Math.max(...labels) + 1;
  const bankLabels = Int32Array.from(bank, (i) => labels[i]!);
  let correct = 0;
  const rows = (idx: number[]) => {
    const out = new Float32Array(idx.length * dim);
    idx.forEach((r, i) => out.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
    return out;
  };
  const bankT = tf.tidy(() => {
    const b = tf.tensor2d(rows(bank), [bank.length, dim]);
    return tf.transpose(tf.div(b, tf.add(tf.norm(b, 'euclidean', 1, true), 1e-12)));
  });
  const kk = Math.min(k + (leaveOneOut ? 1 : 0), bank.length);
  for (let start = 0; start < queries.length; start += 512) {
    const chunk = queries.slice(start, start + 512);
    const top = tf.tidy(() => {
      const q = tf.tensor2d(rows(chunk), [chunk.length, dim]);
      const qn = tf.div(q, tf.add(tf.norm(q, 'euclidean', 1, true), 1e-12));
      return tf.topk(tf.matMul(qn, bankT), kk);
    });
    const values = await top.values.data(), indices = await top.indices.data();
    tf.dispose([top.values, top.indices]);
    chunk.forEach((row, qi) => {
      const votes = new Float64Array(numClasses);
      let used = 0;
      for (let j = 0; j < kk && used < k; j++) {
        const b = indices[qi * kk + j]!;
        if (leaveOneOut && bank[b] === row) continue;
        votes[bankLabels[b]!]! += Math.exp(values[qi * kk + j]! / temperature);
        used++;
      }
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (votes[c]! > votes[best]!) best = c;
      if (best === labels[row]) correct++;
    });
  }
  bankT.dispose();
  return { accuracy: correct / queries.length, queries: queries.length, classes };
}
