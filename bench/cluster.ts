/**
 * `npm run bench -- cluster [--sets fashion-mnist,emoji] [--sk-rows 1000000] [--sk-k 1000] [--umap 100000]`
 *
 * 1. Clustering quality on the real labelled sets (../shared/README.md): k-means (baseline),
 *    Sinkhorn-balanced k-means (equal sizes, and the sizes k-means found) and SeLa heads on the
 *    same pretrained embedding (a cached SimCLR run, else one trained here), k = number of
 *    classes; NMI / ARI / Hungarian accuracy. Target: SeLa/SK ≥ k-means in NMI.
 * 2. Sinkhorn-Knopp time for N × K log-probabilities (default 1,000,000 × 1,000, in row chunks):
 *    target < 2 s on this 2-core machine; the dense path's time beside it.
 * 3. UMAP time for N points (default 100,000; 64-d).
 */
import * as tf from '@tensorflow/tfjs';
import { clusterEmbeddings, umapLayout } from '../core/cluster/run.ts';
import { sinkhorn } from '../core/cluster/sinkhorn.ts';
import { activateBackend } from '../core/engine/backends/select.ts';
import { loadLabels } from '../core/engine/labels.ts';
import { Rng } from '../core/engine/rng.ts';
import { pretrainedRun } from './data/runs.ts';
import { openBenchSet, type SetName } from './data/sets.ts';
import { option } from './args.ts';

async function quality(name: SetName): Promise<void> {
  const set = await openBenchSet(name);
  if (!set) return void console.log(`${name}: skipped (data set unavailable).`);
  try {
    const { project } = set.host;
    const run = await pretrainedRun(set, name);
    const k = set.classes;
    console.log(`\n${name}: ${set.images} images, k = ${k}, embedding of run #${run.id} (${run.method}).`);
    console.log('| algorithm | NMI | ARI | accuracy | time |');
    console.log('|---|---|---|---|---|');
    const nmi: Record<string, number> = {};
    const variants = [
      { key: 'kmeans', title: 'k-means (5 restarts)', params: { algo: 'kmeans' as const } },
      { key: 'sk', title: 'Sinkhorn-balanced k-means, equal sizes', params: { algo: 'sk' as const, sizes: 'equal' as const } },
      { key: 'sk-found', title: 'Sinkhorn-balanced k-means, sizes as found', params: { algo: 'sk' as const, sizes: 'found' as const } },
      { key: 'sela', title: 'SeLa, 3 heads', params: { algo: 'sela' as const } },
    ];
    for (const v of variants) {
      const r = await clusterEmbeddings(project, { runId: run.id, k, heads: 3, seed: 0, ...v.params });
      const s = r.scores!;
      nmi[v.key] = s.nmi;
      const heads = s.perHead ? ` (heads: ${s.perHead.map((h) => h.nmi.toFixed(3)).join(', ')})` : '';
      console.log(`| ${v.title} | ${s.nmi.toFixed(3)}${heads} | ${s.ari.toFixed(3)} | ${(100 * s.accuracy).toFixed(1)}% | ${r.seconds.toFixed(1)} s |`);
    }
    const counts = new Map<number, number>();
    for (const c of loadLabels(project.db, set.datasetId).byImage.values()) counts.set(c, (counts.get(c) ?? 0) + 1);
    const sizes = [...counts.values()].sort((a, b) => b - a);
    console.log(`Class sizes: ${sizes.join(', ')} (largest / smallest ${(sizes[0]! / sizes.at(-1)!).toFixed(1)}).`);
    const [bestKey, best] = Object.entries(nmi).filter(([key]) => key !== 'kmeans').sort((a, b) => b[1] - a[1])[0]!;
    console.log(`Best Sinkhorn-based NMI ${best.toFixed(3)} (${bestKey}) vs k-means ${nmi.kmeans!.toFixed(3)}: ${best >= nmi.kmeans! ? 'at least as good ✓' : 'below k-means ✗'}`);
  } finally {
    set.close();
  }
}

async function sinkhornTiming(rows: number, k: number): Promise<void> {
  // Log-probabilities of a realistic shape: cosine similarities of random unit features to K
  // random prototypes, / 0.1 (SeLa's heads give the same kind of matrix).
  const dim = 64, chunkRows = 50_000;
  const protos = tf.tidy(() => { const p = tf.randomNormal([k, dim], 0, 1, 'float32', 1); return tf.div(p, tf.norm(p, 'euclidean', 1, true)); });
  const chunks: Float32Array[] = [];
  const made = performance.now();
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    const t = tf.tidy(() => {
      const f = tf.randomNormal([n, dim], 0, 1, 'float32', start + 2);
      // Scores, not log-softmaxed: Sinkhorn is invariant to a per-row constant, so the result is the same.
      return tf.mul(tf.matMul(tf.div(f, tf.norm(f, 'euclidean', 1, true)), protos, false, true), 10);
    });
    chunks.push((await t.data()) as Float32Array);
    t.dispose();
  }
  protos.dispose();
  console.log(`\nSinkhorn-Knopp on ${rows.toLocaleString()} × ${k} (${(rows * k * 4 / 2 ** 30).toFixed(1)} GiB float32 in ${chunks.length} chunks; made in ${((performance.now() - made) / 1000).toFixed(1)} s):`);
  for (const tolerance of [1e-2, 1e-3]) {
    const t0 = performance.now();
    const r = sinkhorn(chunks, k, { lambda: 25, tolerance });
    const seconds = (performance.now() - t0) / 1000;
    console.log(`  tolerance ${tolerance}: ${seconds.toFixed(2)} s (${r.path} path, ${r.iterations} iterations; truncation bound ${r.truncationBound.toExponential(1)}), marginal error ${r.marginalError.toExponential(1)}, cluster sizes ${Math.min(...r.sizes)}–${Math.max(...r.sizes)}; target < 2 s ${seconds < 2 ? '✓' : '✗'}`);
  }
  // The dense path for comparison (what runs when the truncation bound fails, e.g. an untrained head).
  const t0 = performance.now();
  const dense = sinkhorn(chunks, k, { lambda: 25, tolerance: 1e-2, path: 'native', inPlace: true });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`  dense path, tolerance 0.01: ${seconds.toFixed(2)} s (${dense.iterations} iterations, ${(seconds / Math.max(1, dense.iterations)).toFixed(3)} s each incl. the exp pass)`);
}

async function umapTiming(n: number): Promise<void> {
  const dim = 64, rng = new Rng(9);
  // 20 Gaussian blobs: a layout with structure, like an embedding of a real collection.
  const centers = Array.from({ length: 20 }, () => Array.from({ length: dim }, () => rng.normal()));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = centers[i % 20]![j]! + 0.4 * rng.normal();
  const t0 = performance.now();
  await umapLayout(x, dim);
  console.log(`\nUMAP (exact neighbours and epochs on the native kernels; 15 neighbours, default epochs) of ${n.toLocaleString()} × ${dim}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

export async function run(args: string[]): Promise<void> {
  const backend = await activateBackend(undefined);
  console.log(`Cluster benchmark on ${backend.name} (${backend.device}).`);
  for (const name of option(args, 'sets', 'fashion-mnist,emoji').split(',').filter(Boolean) as SetName[]) await quality(name);
  const skRows = Number(option(args, 'sk-rows', '1000000')), skK = Number(option(args, 'sk-k', '1000'));
  if (skRows > 0) await sinkhornTiming(skRows, skK);
  const umapN = Number(option(args, 'umap', '100000'));
  if (umapN > 0) await umapTiming(umapN);
}
