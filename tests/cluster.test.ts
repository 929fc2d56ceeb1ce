// Concept discovery: Sinkhorn-Knopp against a dense reference, its marginals, priors and large λ;
// clustering scores against hand-computed values; k-means on separable data; and the whole path on
// real images: train, `loupe cluster`, explorer edits (name → labels, merge, split, discard,
// outliers), each undone exactly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { kmeans } from '../core/cluster/kmeans.ts';
import { hungarianMax, scoreClustering } from '../core/cluster/metrics.ts';
import { embeddingMap, splitByReclustering, umapLayout } from '../core/cluster/run.ts';
import { exactKnn, fuzzyGraph } from '../core/cluster/umap.ts';
import { loadNativeKernels } from '../core/engine/backends/native-kernels.ts';
import { l2normalizeRows } from '../core/learn/vectors.ts';
import { sinkhorn, sinkhornTensor } from '../core/cluster/sinkhorn.ts';
import { clusterMembers, discardCluster, listClusters, markOutliers, mergeClusters, nameCluster, undoLastEdit } from '../core/cluster/store.ts';
import { useBackendForTest } from '../core/engine/backends/select.ts';
import { createTrainingRun } from '../core/engine/jobs.ts';
import { findSslMethod } from '../core/engine/methods.ts';
import { Rng } from '../core/engine/rng.ts';
import { trainRun } from '../core/engine/trainer.ts';
import { Host } from '../core/host/host.ts';
import { tempDir } from './helpers/corpus.ts';
import { emojiDemoProject } from './helpers/demo.ts';

const bin = path.resolve('bin/loupe.mjs');

/** The truncated path without native kernels (the JS fallback). */
function sinkhornTruncatedJsForTest(L: Float32Array, k: number): Int32Array {
  const r = sinkhorn(L, k, { lambda: 25, tolerance: 1e-4, path: 'sparse', forceJs: true });
  assert.equal(r.path, 'sparse');
  return r.labels;
}

function randomLogits(n: number, k: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    // log-softmax of random scores: real log-probabilities
    const s = Array.from({ length: k }, () => rng.normal() * scale);
    const m = Math.max(...s), lse = m + Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0));
    s.forEach((v, j) => { out[i * k + j] = v - lse; });
  }
  return out;
}

/** The textbook algorithm in float64, no tricks: the reference the fast paths must agree with. */
function denseSinkhorn(L: Float32Array, n: number, k: number, lambda: number, iterations: number, b?: number[]): { labels: number[]; colMass: number[] } {
  const P = Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => Math.exp(lambda * L[i * k + j]!)));
  const target = b ? b.map((v) => v / b.reduce((a, x) => a + x, 0)) : new Array(k).fill(1 / k);
  let r = new Array(n).fill(1), c = new Array(k).fill(1);
  for (let t = 0; t < iterations; t++) {
    r = P.map((row) => (1 / n) / row.reduce((s, v, j) => s + v * c[j], 0));
    c = target.map((tj, j) => tj / P.reduce((s, row, i) => s + row[j]! * r[i], 0));
  }
  const Q = P.map((row, i) => row.map((v, j) => r[i] * v * c[j]));
  return { labels: Q.map((row) => row.indexOf(Math.max(...row))), colMass: target.map((_, j) => Q.reduce((s, row) => s + row[j]!, 0)) };
}

test('Sinkhorn-Knopp: native, JS and log-domain paths agree with a dense reference and meet the marginals', () => {
  const n = 300, k = 7;
  const L = randomLogits(n, k, 1, 1.5);
  const ref = denseSinkhorn(L, n, k, 5, 400);
  ref.colMass.forEach((m) => assert.ok(Math.abs(m * k - 1) < 1e-6, 'the reference itself converged'));
  for (const path of ['sparse', 'native', 'js', 'log'] as const) {
    const r = sinkhorn(L, k, { lambda: 5, tolerance: 1e-6, path });
    assert.equal(r.path, path);
    assert.ok(r.converged && r.marginalError < 1e-6, `${path}: marginal error ${r.marginalError}`);
    const agree = ref.labels.filter((l, i) => l === r.labels[i]).length;
    assert.ok(agree >= n - 1, `${path}: ${agree}/${n} labels agree with the dense reference`);
  }
  // Row chunks give the same answer as one array.
  const whole = sinkhorn(L, k, { lambda: 5, tolerance: 1e-6 });
  const chunked = sinkhorn([L.slice(0, 100 * k), L.slice(100 * k, 250 * k), L.slice(250 * k)], k, { lambda: 5, tolerance: 1e-6 });
  assert.deepEqual(Array.from(chunked.labels), Array.from(whole.labels));
});

test('Sinkhorn-Knopp: balanced clusters where the argmax is not; prior sizes; large λ stays stable via the log domain', () => {
  const n = 2000, k = 10;
  // Predictions that all prefer cluster 0: the argmax would put everything there.
  const L = randomLogits(n, k, 2, 0.5);
  for (let i = 0; i < n; i++) L[i * k] = L[i * k]! + 2;
  const r = sinkhorn(L, k, { lambda: 25 });
  assert.ok(r.converged);
  assert.ok(Math.max(...r.sizes) < 1.6 * (n / k) && Math.min(...r.sizes) > 0.5 * (n / k), `sizes ${Array.from(r.sizes)}`);
  const prior = [5, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const withPrior = sinkhorn(L, k, { lambda: 25, columnMarginals: prior });
  assert.ok(withPrior.sizes[0]! > 3 * withPrior.sizes[1]!, `prior sizes ${Array.from(withPrior.sizes)}`);
  // Very confident predictions with λ = 200: scalings leave float range; the log domain takes over.
  const confident = randomLogits(500, 5, 3, 8);
  const big = sinkhorn(confident, 5, { lambda: 200, tolerance: 0.02, maxIterations: 3000, path: 'log' });
  assert.ok(big.converged && Number.isFinite(big.marginalError));
  assert.ok(Math.max(...big.sizes) <= 140 && Math.min(...big.sizes) >= 60, `sizes ${Array.from(big.sizes)}`);
  assert.throws(() => sinkhorn(new Float32Array(10), 3), /whole number of rows/);
});

test('Sinkhorn-Knopp: scalings that leave float range are absorbed into A, not handed to the slow log domain; same answer', () => {
  // A head that strongly prefers 4 of 64 clusters: equal sizes need column scalings beyond 1e30.
  const n = 2000, k = 64;
  const L = randomLogits(n, k, 9, 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < 4; j++) L[i * k + j] = L[i * k + j]! + 3;
  const log = sinkhorn(L, k, { lambda: 25, tolerance: 1e-2, path: 'log' });
  assert.ok(log.converged);
  for (const path of ['auto', 'js'] as const) {
    const r = sinkhorn(L, k, { lambda: 25, tolerance: 1e-2, path });
    assert.notEqual(r.path, 'log', `${path}: stayed on a scaling path`);
    assert.ok(r.converged && r.marginalError < 1e-2, `${path}: marginal error ${r.marginalError}`);
    const agree = log.labels.filter((l, i) => l === r.labels[i]).length;
    assert.ok(agree >= 0.99 * n, `${path}: ${agree}/${n} labels as the log domain's`);
  }
  // In place (A overwrites the input) nothing can be re-formed: a clear error, as before.
  assert.throws(() => sinkhorn(L.slice(), k, { lambda: 25, tolerance: 1e-2, path: 'js', inPlace: true }), /float range/);
});

test('Sinkhorn-Knopp, truncated kernel: same labels as the dense path where entries are dropped, and a fallback when they matter', () => {
  const n = 20000, k = 100;
  const L = randomLogits(n, k, 5, 1);
  const dense = sinkhorn(L, k, { lambda: 25, tolerance: 1e-4, path: 'native' });
  for (const path of ['sparse', 'auto'] as const) {
    const sparse = sinkhorn(L, k, { lambda: 25, tolerance: 1e-4, path });
    assert.equal(sparse.path, 'sparse');
    assert.ok(sparse.truncationBound > 0 && sparse.truncationBound < 2.5e-5, `bound ${sparse.truncationBound}`);
    assert.ok(sparse.converged && sparse.marginalError < 1e-4, `marginal error ${sparse.marginalError}`);
    const agree = dense.labels.filter((l, i) => l === sparse.labels[i]).length;
    assert.ok(agree >= n - 3, `${agree}/${n} labels agree with the dense path`);
  }
  // The JS fallback of the truncated kernel gives the same answer as the native one.
  const js = sinkhornTruncatedJsForTest(L, k);
  assert.ok(js.filter((l, i) => l === dense.labels[i]).length >= n - 3);
  // Too few entries kept per row (cap 16 of ~30 within reach): the bound rejects the truncation
  // and the dense path runs; so it does for flat rows (an untrained head).
  assert.equal(sinkhorn(L, k, { lambda: 25, tolerance: 1e-4, sparseCap: 16 }).path, 'native');
  assert.throws(() => sinkhorn(L, k, { lambda: 25, tolerance: 1e-4, path: 'sparse', sparseCap: 16 }), /not accurate enough/);
  const flat = randomLogits(500, k, 6, 0.001);
  assert.equal(sinkhorn(flat, k, { lambda: 25, tolerance: 1e-3 }).path, 'native');
});

test('UMAP layout: separated groups stay separated on the map (native and umap-js paths); the fuzzy graph is symmetric; a cancelled layout stops; umap-js leaves the host responsive', async () => {
  const n = 1500, dim = 32, groups = 5, rng = new Rng(11);
  const centers = Array.from({ length: groups }, () => Array.from({ length: dim }, () => rng.normal()));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = centers[i % groups]![j]! + 0.3 * rng.normal();
  for (const path of ['auto', 'umap-js'] as const) {
    const y = await umapLayout(x, dim, {}, { path });
    assert.ok(y.every((v) => v >= -1 && v <= 1));
    // Each point's 10 nearest neighbours on the map come from its own group.
    let same = 0;
    for (let i = 0; i < n; i += 5) {
      const d = Array.from({ length: n }, (_, k) => [(y[2 * i]! - y[2 * k]!) ** 2 + (y[2 * i + 1]! - y[2 * k + 1]!) ** 2, k] as const).filter(([, k]) => k !== i);
      d.sort((a, b) => a[0] - b[0]);
      same += d.slice(0, 10).filter(([, k]) => k % groups === i % groups).length;
    }
    assert.ok(same / ((n / 5) * 10) > 0.98, `${path}: map neighbours from the same group: ${same / ((n / 5) * 10)}`);
  }
  // Neighbours: exact (each point's own row first, as a brute-force check says); the fuzzy union
  // lists every pair both ways with one weight in (0, 1].
  const unit = l2normalizeRows(x, dim);
  const load = loadNativeKernels();
  assert.ok(load.ok && load.kernels.knnExact);
  const knn = await exactKnn(unit, n, dim, 15, load.kernels as Parameters<typeof exactKnn>[4]);
  for (const i of [0, 777, 1499]) {
    const sims = Array.from({ length: n }, (_, j) => [unit.subarray(i * dim, (i + 1) * dim).reduce((s, v, d) => s + v * unit[j * dim + d]!, 0), j] as const).sort((a, b) => b[0] - a[0]);
    assert.deepEqual(Array.from(knn.idx.subarray(i * 15, i * 15 + 15)).sort(), sims.slice(0, 15).map(([, j]) => j).sort());
    assert.equal(knn.idx[i * 15], i);
  }
  const g = fuzzyGraph(knn, n);
  const pairs = new Map<string, number>();
  g.head.forEach((h, e) => pairs.set(`${h},${g.tail[e]}`, g.weight[e]!));
  for (const [key, w] of pairs) {
    const [h, t] = key.split(',');
    assert.ok(w > 0 && w <= 1 && pairs.get(`${t},${h}`) === w, `pair ${key}`);
  }
  const abort = new AbortController();
  abort.abort(new Error('cancelled'));
  await assert.rejects(umapLayout(x, dim, { signal: abort.signal }, { nEpochs: 5000 }), /cancelled/);
  // umap-js runs in its own thread: the host's event loop turns before the layout has done any
  // epoch (its neighbour search used to block it), and cancelling mid-way ends the layout.
  const events: string[] = [];
  const stop = new AbortController();
  const layout = umapLayout(x, dim, {
    signal: stop.signal,
    progress: (done, total) => {
      if (total !== null && done > 0) events.push('epoch');
      if (done >= 20) stop.abort(new Error('cancelled mid-way'));
    },
  }, { path: 'umap-js', nEpochs: 5000 });
  setImmediate(() => events.push('host'));
  await assert.rejects(layout, /cancelled mid-way/);
  assert.equal(events[0], 'host', `events: ${events.slice(0, 3).join(', ')}`);
  assert.ok(events.includes('epoch'));
});

test('Sinkhorn on a tfjs tensor matches the array version', async () => {
  const n = 200, k = 5;
  const L = randomLogits(n, k, 4);
  const q = sinkhornTensor(tf.tensor2d(L, [n, k]), { lambda: 5, iterations: 300 });
  const labels = await tf.argMax(q, 1).data();
  const cols = await tf.sum(q, 0).data();
  q.dispose();
  const arr = sinkhorn(L, k, { lambda: 5, tolerance: 1e-6 });
  assert.ok(Array.from(labels).filter((l, i) => l === arr.labels[i]).length >= n - 1);
  // Rows are normalised to 1, so each column holds n / k.
  for (const c of cols) assert.ok(Math.abs(c - n / k) < 0.05, `column mass ${c}`);
});

test('clustering scores: NMI, ARI and Hungarian accuracy on hand-checked cases', () => {
  const truth = Int32Array.from([0, 0, 0, 1, 1, 1]);
  const perfect = scoreClustering(Int32Array.from([2, 2, 2, 5, 5, 5]), truth);
  assert.deepEqual([perfect.nmi, perfect.ari, perfect.accuracy].map((v) => +v.toFixed(6)), [1, 1, 1]);
  // sklearn: adjusted_rand_score([0,0,0,1,1,1],[0,0,1,1,2,2]) = 0.2424…, NMI (arithmetic) = 0.5158…
  const partial = scoreClustering(Int32Array.from([0, 0, 1, 1, 2, 2]), truth);
  assert.ok(Math.abs(partial.ari - 0.242424) < 1e-5, `ari ${partial.ari}`);
  assert.ok(Math.abs(partial.nmi - 0.515803) < 1e-5, `nmi ${partial.nmi}`);
  assert.ok(Math.abs(partial.accuracy - 4 / 6) < 1e-9);
  assert.deepEqual(Array.from(hungarianMax([[1, 9, 0], [8, 2, 0], [0, 0, 3]])), [1, 0, 2]);
  assert.deepEqual(Array.from(hungarianMax([[5, 1], [4, 3], [9, 0]])), [-1, 1, 0]);
});

test('k-means finds separable groups', async () => {
  const rng = new Rng(5), dim = 8, per = 60, k = 4;
  const centers = Array.from({ length: k }, () => Array.from({ length: dim }, () => rng.normal()));
  const x = new Float32Array(k * per * dim), truth = new Int32Array(k * per);
  for (let c = 0; c < k; c++) for (let i = 0; i < per; i++) {
    truth[c * per + i] = c;
    for (let j = 0; j < dim; j++) x[(c * per + i) * dim + j] = centers[c]![j]! + 0.05 * rng.normal();
  }
  const result = await kmeans(x, dim, { k, restarts: 3 });
  assert.equal(scoreClustering(result.labels, truth).accuracy, 1);
});

test('cluster real images from the CLI, then name, merge, split, discard and mark outliers in the explorer store, each undoable', { timeout: 300_000 }, async () => {
  await useBackendForTest('native');
  const { host: imported, dir, datasetId } = await emojiDemoProject('cluster', 10);
  let host = imported;
  const runId = createTrainingRun(host.project, findSslMethod('simclr'), datasetId, { epochs: 2, batchSize: 32, imageSize: 24, width: 0.125, knnEvery: 0, hyperparameters: { hiddenDim: 64, projectionDim: 32 } });
  await trainRun(host.project, runId, { signal: new AbortController().signal, progress: () => {} });
  const usable = (host.project.db.prepare("SELECT COUNT(*) AS n FROM images WHERE status = 'ok'").get() as { n: number }).n;
  host.close();

  const results: Record<string, { nmi: number }> = {};
  for (const algo of ['kmeans', 'sk', 'sela']) {
    const out = spawnSync(process.execPath, [bin, 'cluster', dir, '--algo', algo, '--k', '9', '--heads', '2', '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout.trim().split('\n').at(-1)!);
    assert.equal(r.sizes.reduce((a: number, b: number) => a + b, 0), usable, 'every image is assigned');
    assert.ok(r.scores.count > 0 && r.scores.nmi > 0 && r.scores.nmi <= 1, JSON.stringify(r.scores));
    if (algo === 'sela') assert.equal(r.scores.perHead.length, 2);
    results[algo] = r.scores;
    results[`${algo}Id`] = { nmi: r.clusteringId };
  }
  const human = spawnSync(process.execPath, [bin, 'cluster', dir, '--algo', 'kmeans', '--k', '3'], { encoding: 'utf8', timeout: 120_000 });
  assert.match(human.stdout, /NMI \d\.\d{3}, ARI -?\d\.\d{3}, accuracy \d+\.\d%/);
  assert.match(spawnSync(process.execPath, [bin, 'cluster', dir, '--algo', 'magic'], { encoding: 'utf8' }).stderr, /Unknown algorithm "magic"/);

  host = new Host({ projectDir: dir, userDir: tempDir('loupe-user'), transport: 'http', create: false, autoResume: false });
  try {
    const { db } = host.project;
    const id = results.skId!.nmi;
    const before = listClusters(db, id);
    assert.equal(before.length, 9);
    assert.ok(before.every((c) => c.samples.length > 0 && c.samples.length <= 6));
    const target = before[0]!;
    const page = clusterMembers(db, id, target.idx, 0, 500);
    assert.equal(page.total, target.size);
    for (let i = 1; i < page.items.length; i++) assert.ok(page.items[i - 1]!.confidence >= page.items[i]!.confidence, 'sorted by confidence');

    const labelRows = () => db.prepare("SELECT COUNT(*) AS n FROM labels WHERE source = 'cluster'").get() as { n: number };
    const classNames = () => (db.prepare('SELECT name FROM classes ORDER BY name').all() as { name: string }[]).map((r) => r.name);
    const classesBefore = classNames();
    const named = nameCluster(db, id, target.idx, 'Faces I care about');
    assert.equal(named.labelled, target.size);
    assert.equal(labelRows().n, target.size);
    assert.equal(listClusters(db, id)[0]!.className, 'Faces I care about');

    markOutliers(db, id, [page.items[0]!.imageId], true);
    assert.equal(labelRows().n, target.size - 1, 'an outlier loses its cluster label');
    mergeClusters(db, id, [before[1]!.idx, before[2]!.idx], target.idx);
    assert.equal(listClusters(db, id)[0]!.size, target.size + before[1]!.size + before[2]!.size);
    assert.equal(listClusters(db, id)[1]!.state, 'merged');
    assert.throws(() => mergeClusters(db, id, [before[1]!.idx], target.idx), /was merged/);
    const newIdx = await splitByReclustering(host.project, id, target.idx);
    const afterSplit = listClusters(db, id);
    assert.equal(afterSplit.length, 10);
    assert.equal(afterSplit.find((c) => c.idx === target.idx)!.size + afterSplit.find((c) => c.idx === newIdx)!.size, target.size + before[1]!.size + before[2]!.size);
    discardCluster(db, id, before[3]!.idx);
    assert.equal(listClusters(db, id).find((c) => c.idx === before[3]!.idx)!.state, 'discarded');

    // Undo everything, newest first: back to the clustering as it was made.
    assert.deepEqual([undoLastEdit(db, id), undoLastEdit(db, id), undoLastEdit(db, id), undoLastEdit(db, id), undoLastEdit(db, id), undoLastEdit(db, id)],
      ['discard', 'split', 'merge', 'outliers', 'name', null]);
    const restored = listClusters(db, id);
    assert.deepEqual(restored.map((c) => [c.idx, c.size, c.state, c.name, c.outliers]), before.map((c) => [c.idx, c.size, c.state, c.name, c.outliers]));
    assert.equal(labelRows().n, 0, 'naming undone: its labels are gone');
    assert.deepEqual(classNames(), classesBefore, 'and so is the class it created');
    // Naming after a class that already exists keeps that class on undo.
    const existing = classesBefore[0];
    if (existing) {
      nameCluster(db, id, target.idx, existing);
      undoLastEdit(db, id);
      assert.deepEqual(classNames(), classesBefore);
    }

    // The 2-D map: one point per embedded image, inside [−1, 1], cached on the second call.
    const embeddingId = (db.prepare('SELECT embedding_id AS e FROM clusterings WHERE id = ?').get(id) as { e: number }).e;
    const map = await embeddingMap(host.project, embeddingId);
    assert.equal(map.coords.length, map.imageIds.length * 2);
    assert.ok(map.coords.every((v) => v >= -1 && v <= 1 && Number.isFinite(v)));
    const again = await embeddingMap(host.project, embeddingId);
    assert.deepEqual(Array.from(again.coords), Array.from(map.coords));
  } finally {
    host.close();
  }
});
