// SSL methods: each loss checked against a hand computation on a tiny fixed input (plain JS,
// written from the papers' equations), and every built-in method trained briefly on real images:
// its loss falls and its embedding does not collapse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useBackendForTest } from '../core/engine/backends/select.ts';
import { embedRun, readEmbeddings } from '../core/engine/embed.ts';
import { createTrainingRun } from '../core/engine/jobs.ts';
import { builtinSslMethods } from '../core/engine/methods.ts';
import { labelSolveSteps, selfLabelLoss } from '../plugins/ssl/sela.ts';
import { effectiveRank, featureSpread, symmetricEigenvalues } from '../core/engine/collapse.ts';
import { resolveHyperparameters } from '../core/engine/method.ts';
import { findPreset, presetsFor } from '../core/engine/presets.ts';
import { cosineMomentum, teacherMomentum } from '../core/engine/optim.ts';
import { validateSslMethod } from '../core/plugins/registry.ts';
import { trainRun } from '../core/engine/trainer.ts';
import { getMetrics, latestEmbedding } from '../core/store/runs.ts';
import { dinoLoss } from '../plugins/ssl/dino.ts';
import { swavLoss } from '../plugins/ssl/swav.ts';
import { barlowTwinsLoss, infoNce, koleoLoss, negativeCosine, normalizedMse, ntXent, sinkhornCodes, vicregLoss, withKoleo } from '../plugins/ssl/losses.ts';
import { rotations } from '../plugins/ssl/rotnet.ts';
import { mlp } from '../core/engine/nn/layers.ts';
import { Params } from '../core/engine/nn/params.ts';
import { Rng } from '../core/engine/rng.ts';
import { emojiDemoProject } from './helpers/demo.ts';

type M = number[][];
const A: M = [[1, 2, 0], [0, 1, -1], [2, 0, 1], [-1, 1, 1]];
const B: M = [[1, 1, 0], [0, 2, -1], [1, 0, 2], [-1, 0, 1]];
const norm = (v: number[]) => Math.hypot(...v);
const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const col = (m: M, j: number) => m.map((r) => r[j]!);
const logSumExp = (v: number[]) => { const m = Math.max(...v); return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0)); };
const value = (t: tf.Tensor) => { const v = t.dataSync()[0]!; t.dispose(); return v; };
const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);

test('each SSL loss equals its hand computation on a fixed input', async () => {
  await useBackendForTest('cpu');
  const a = tf.tensor2d(A), b = tf.tensor2d(B);

  // NT-Xent over [A; B], τ = 0.5: row i's positive is its other view.
  const z = [...A, ...B], n = A.length, tau = 0.5;
  const nt = mean(z.map((zi, i) => {
    const logits = z.map((zj, j) => (j === i ? -Infinity : cos(zi, zj) / tau)).filter(Number.isFinite);
    const pos = cos(zi, z[(i + n) % (2 * n)]!) / tau;
    return logSumExp(logits) - pos;
  }));
  close(value(ntXent(tf.concat([a, b]) as tf.Tensor2D, tau)), nt, 'NT-Xent');

  close(value(normalizedMse(a, b)), mean(A.map((r, i) => 2 - 2 * cos(r, B[i]!))), 'BYOL normalised MSE');
  close(value(negativeCosine(a, b)), -mean(A.map((r, i) => cos(r, B[i]!))), 'SimSiam negative cosine');

  // Barlow Twins: standardise each column over the batch (biased std), C = z1ᵀz2 / N.
  const standardise = (m: M) => {
    const cols = m[0]!.map((_, j) => { const c = col(m, j), mu = mean(c); const sd = Math.sqrt(mean(c.map((x) => (x - mu) ** 2)) + 1e-5); return c.map((x) => (x - mu) / sd); });
    return m.map((_, i) => cols.map((c) => c[i]!));
  };
  const sa = standardise(A), sb = standardise(B), lambda = 0.1;
  let bt = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    const c = mean(sa.map((r, k) => r[i]! * sb[k]![j]!));
    bt += i === j ? (1 - c) ** 2 : lambda * c * c;
  }
  close(value(barlowTwinsLoss(a, b, lambda)), bt, 'Barlow Twins');

  // VICReg with weights 25/25/1: unbiased std with ε = 1e-4; covariance off-diagonals² / d.
  const varTerm = (m: M) => mean([0, 1, 2].map((j) => { const c = col(m, j), mu = mean(c); return Math.max(0, 1 - Math.sqrt(c.reduce((s, x) => s + (x - mu) ** 2, 0) / (c.length - 1) + 1e-4)); }));
  const covTerm = (m: M) => {
    let s = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      if (i === j) continue;
      const ci = col(m, i), cj = col(m, j), mi = mean(ci), mj = mean(cj);
      s += (ci.reduce((t, x, k) => t + (x - mi) * (cj[k]! - mj), 0) / (ci.length - 1)) ** 2;
    }
    return s / 3;
  };
  const inv = mean(A.flatMap((r, i) => r.map((x, j) => (x - B[i]![j]!) ** 2)));
  close(value(vicregLoss(a, b, 25, 25, 1)), 25 * inv + 25 * (varTerm(A) + varTerm(B)) + covTerm(A) + covTerm(B), 'VICReg');

  // InfoNCE with a queue of two negatives, τ = 0.2.
  const queue: M = [[1, 0, 0], [0, 0, 1]];
  const unit = (v: number[]) => v.map((x) => x / norm(v));
  const nce = mean(A.map((q, i) => {
    const logits = [cos(q, B[i]!), ...queue.map((k) => cos(q, k))].map((x) => x / 0.2);
    return logSumExp(logits) - logits[0]!;
  }));
  close(value(infoNce(a, b, tf.tensor2d(queue.map(unit)), 0.2)), nce, 'MoCo InfoNCE');

  // DINO: teacher softmax((t − c)/τt), student log-softmax(s/τs), pairs i ≠ j.
  const t0: M = [[1, 0], [0, 1]], s1: M = [[0.5, 0.2], [0.1, 0.3]], c = [0.2, -0.1];
  const softmax = (v: number[]) => { const l = logSumExp(v); return v.map((x) => Math.exp(x - l)); };
  const ce = (t: number[], s: number[]) => { const l = logSumExp(s.map((x) => x / 0.1)); return -t.reduce((acc, p, k) => acc + p * (s[k]! / 0.1 - l), 0); };
  const teacherDist = t0.map((r) => softmax(r.map((x, k) => (x - c[k]!) / 0.04)));
  const dinoWant = mean(teacherDist.map((t, i) => ce(t, s1[i]!)));
  close(value(dinoLoss([tf.tensor2d(t0)], [tf.tensor2d(t0), tf.tensor2d(s1)], tf.tensor2d([c]), 0.04, 0.1)), dinoWant, 'DINO');

  // KoLeo: −mean log distance to the nearest other row, after L2 normalisation (lengths do not matter).
  const pts: M = [[2, 0], [0, 0.5], [-3, 0.3], [0.6, 0.8]];
  const unitPts = pts.map(unit);
  const nearestLog = unitPts.map((p, i) => Math.log(Math.min(...unitPts.filter((_, j) => j !== i).map((q) => Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!)))));
  close(value(koleoLoss(tf.tensor2d(pts))), -mean(nearestLog), 'KoLeo');
  // As a term of BYOL's and DINO's loss: weight × its mean over the views; nothing at weight 0.
  const otherView: M = [[1, 1], [1, -1], [-1, 0], [0, 2]];
  const base = tf.scalar(1.5);
  close(value(withKoleo(base, 0.1, [tf.tensor2d(pts), tf.tensor2d(otherView)])), 1.5 + 0.1 * (value(koleoLoss(tf.tensor2d(pts))) + value(koleoLoss(tf.tensor2d(otherView)))) / 2, 'KoLeo term');
  close(value(withKoleo(base, 0, [tf.tensor2d(pts)])), 1.5, 'KoLeo term off');

  // Sinkhorn codes: rows are distributions, prototypes get equal mass.
  const codes = sinkhornCodes(tf.tensor2d([[3, 0, 0], [2.5, 0.1, 0], [3, 0.2, 0.1], [0, 0, 1], [0, 1, 0], [2, 0, 0]]), 0.05, 50).arraySync();
  codes.forEach((r) => close(r.reduce((s, x) => s + x, 0), 1, 'code row sum'));
  [0, 1, 2].forEach((k) => assert.ok(Math.abs(codes.reduce((s, r) => s + r[k]!, 0) - 2) < 0.05, 'each prototype gets B/K'));

  // SwAV's queue: two rows that both prefer prototype 0. Alone, equipartition splits them between
  // the prototypes (codes ½, ½: loss ≈ 5 at τ 0.1); with two queued rows on prototype 1, both keep
  // prototype 0 (loss ≈ 0).
  const batch = () => tf.tensor2d([[1, 0], [1, 0]]), queued = () => tf.tensor2d([[0, 1], [0, 1]]);
  const alone = value(swavLoss([batch(), batch()], 0.05, 50, 0.1));
  assert.ok(Math.abs(alone - 5) < 0.05, `SwAV without a queue: ${alone}`);
  assert.ok(value(swavLoss([batch(), batch()], 0.05, 50, 0.1, [queued(), queued()])) < 1e-3, 'SwAV with a queue');

  // Rotations: a 2×2 image [[1, 2], [3, 4]] in its four rotations.
  const { images, labels } = rotations(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]));
  const rot = images.arraySync().map((im) => im.map((row) => row.map((p) => p[0])));
  assert.deepEqual(rot[0], [[1, 2], [3, 4]]);
  assert.deepEqual(rot[2], [[4, 3], [2, 1]]);
  assert.deepEqual([rot[1], rot[3]].map((r) => JSON.stringify(r)).sort(), [JSON.stringify([[2, 4], [1, 3]]), JSON.stringify([[3, 1], [4, 2]])].sort());
  assert.deepEqual(Array.from(labels.dataSync()), [0, 1, 2, 3]);
});

test('SeLa: cross-entropy of each head against its labels, averaged over heads; label solves dense early', () => {
  // Head 0: logits [0, ln 3] for label 1 → −log(3/4); head 1: logits [0, 0] for label 0 → log 2.
  const loss = selfLabelLoss([tf.tensor2d([[0, Math.log(3)]]), tf.tensor2d([[0, 0]])], [tf.tensor1d([1], 'int32'), tf.tensor1d([0], 'int32')], 2);
  close(loss.dataSync()[0]!, (-Math.log(3 / 4) + Math.log(2)) / 2, 'SeLa loss');
  assert.deepEqual([...labelSolveSteps(4, 160)], [10, 40, 90]);
});

test('teacher momentum: the papers\' schedule on long runs; a short run starts low enough that its teacher moves', () => {
  // Long run: the cap 1 − 40/K is above the base, so this is BYOL's cosine from 0.99 to 1.
  close(teacherMomentum(0, 100_000, 0.99), 0.99, 'long run start');
  close(teacherMomentum(50_000, 100_000, 0.99), cosineMomentum(50_000, 100_000, 0.99), 'long run middle');
  // 188 steps (5 epochs of 5,000 images at batch 128): the start is capped at 1 − 40/188.
  close(teacherMomentum(0, 188, 0.99), 1 - 40 / 188, 'short run start');
  close(teacherMomentum(188, 188, 0.99), 1, 'short run end');
  assert.ok(teacherMomentum(0, 10, 0.99) >= 0.5, 'a tiny run never averages with a negative rate');
  assert.equal(cosineMomentum(0, 188, 0.99), 0.99, 'the uncapped schedule (MoCo\'s key encoder) keeps its base');
});

test('every built-in method trains on real images without collapsing; the loss falls (except the early rise of MoCo and DINO)', { timeout: 600_000 }, async () => {
  await useBackendForTest('native');
  const { host, datasetId } = await emojiDemoProject('methods', 12);
  try {
    assert.equal(builtinSslMethods.length, 11);
    const report: string[] = [], failures: string[] = [];
    let simclrRun: number | undefined;
    for (const method of builtinSslMethods.filter((m) => !process.env.ONLY || process.env.ONLY.split(',').includes(m.id))) {
      const hyperparameters: Record<string, number> = {};
      for (const h of method.hyperparameters) {
        if (/projectionDim|hiddenDim/.test(h.key)) hyperparameters[h.key] = 64;
        if (h.key === 'queueSize') hyperparameters[h.key] = 48;
        if (h.key === 'momentum') hyperparameters[h.key] = 0.9; // few steps: let the teacher move
        if (h.key === 'outDim' || h.key === 'prototypes') hyperparameters[h.key] = 64;
        if (h.key === 'clusters') hyperparameters[h.key] = 16;
      }
      // SwAV as the CPU preset has it (sharper codes, no local crops): at the paper's settings a
      // small encoder's codes on these look-alike glyphs are near uniform and the loss sits at ln K.
      if (method.id === 'swav') {
        const { prototypes: _, ...preset } = findPreset(method, 'fast-cpu').hyperparameters ?? {};
        Object.assign(hyperparameters, preset);
      }
      // SwAV's loss first rises above ln K while its codes sharpen; 8 epochs (48 steps) end before
      // it turns. 48 epochs end at 3.72–3.98 (threads make runs differ; 32 epochs ended at
      // 3.93–4.04, too close to the bar), at the paper's ε at 4.145, next to ln 64 = 4.159.
      // SimCLR at batch 16 can learn most of what it will in its first epoch (48 steps: first epoch
      // 3.30–3.45, second half 3.06–3.18, and once in CI 3.14 → 3.17): 16 epochs leave a margin.
      const epochs = method.id === 'swav' ? 48 : method.id === 'simclr' ? 16 : 8;
      const runId = createTrainingRun(host.project, method, datasetId, {
        epochs, batchSize: 16, imageSize: 24, width: 0.125, knnEvery: 0, warmupEpochs: 0, hyperparameters,
        learningRate: method.defaults.learningRate,
        // SeLa and fine-tuning (on the folder labels) start from the SimCLR encoder trained just before (as a user would).
        ...((method.id === 'sela' || method.id === 'fine-tune') && simclrRun !== undefined ? { initFromRun: simclrRun } : {}),
      });
      if (method.id === 'simclr') simclrRun = runId;
      const result = await trainRun(host.project, runId, { signal: new AbortController().signal, progress: () => {} });
      assert.equal(result.stopped, false, method.id);
      const loss = getMetrics(host.project.db, runId).loss!.map(([, v]) => v);
      // The first epoch against the last (SwAV's bar below) and against the second half of the
      // run (does it fall). Batch-16 losses are noisy (Barlow Twins estimates a 64×64 correlation
      // from 16 pairs): one epoch's mean is 6 steps, and Barlow Twins' last epoch ranged 20–46
      // over 15 runs from a first of 51–62, and once, in CI, ended at 56.1 from 55.6. Its
      // second-half mean (24 steps) spreads half as far.
      const per = loss.length / epochs;
      const first = mean(loss.slice(0, per)), last = mean(loss.slice(-per)), secondHalf = mean(loss.slice(loss.length / 2));
      await embedRun(host.project, runId);
      const emb = readEmbeddings(host.project, latestEmbedding(host.project.db, runId)!);
      const spread = featureSpread(emb.features, emb.row.dim);
      const rank = getMetrics(host.project.db, runId).rank?.at(-1)?.[1] ?? NaN;
      report.push(`${method.id}: loss ${first.toFixed(3)} → ${last.toFixed(3)} (second half ${secondHalf.toFixed(3)}), spread ${spread.toFixed(2)}, effective rank ${rank.toFixed(1)}`);
      // MoCo's InfoNCE first rises while its queue fills with real keys, and DINO's while the
      // teacher sharpens: 48 steps are too few for either to turn (see the closing note of
      // issue 4). For them only a finite loss and uncollapsed features are required here.
      const risesEarly = method.id === 'moco-v2' || method.id === 'dino';
      if (!Number.isFinite(last) || (!risesEarly && !(secondHalf < first))) failures.push(`${method.id}: loss should fall (first epoch ${first}, second half ${secondHalf})`);
      // SwAV's loss can fall to ln K and no lower: uniform predictions of uniform codes, nothing learnt.
      if (method.id === 'swav' && !(last < Math.log(hyperparameters.prototypes!) - 0.1)) failures.push(`swav: loss stays at ln K = ${Math.log(hyperparameters.prototypes!).toFixed(3)} (${last.toFixed(3)}): uniform codes`);
      if (!(spread > 0.05)) failures.push(`${method.id}: features collapsed (spread ${spread})`);
      if (!(rank > 2)) failures.push(`${method.id}: features collapsed to ${rank.toFixed(2)} directions (effective rank, logged by the trainer)`);
    }
    console.log(report.join('\n'));
    assert.deepEqual(failures, []);
  } finally {
    host.close();
  }
});

test('an MLP without batch norm is Linear → ReLU → Linear, biases included (DINO\'s head option)', () => {
  const params = new Params();
  const head = mlp(params, new Rng(1), 'h', [3, 2, 2], { batchNorm: false });
  assert.deepEqual([...params.trainable.keys()].sort(), ['h/fc0/bias', 'h/fc0/kernel', 'h/fc1/bias', 'h/fc1/kernel']);
  assert.equal(params.state.size, 0, 'no running statistics');
  const w = (name: string) => params.get(name).arraySync() as number[][];
  const b = (name: string) => params.get(name).arraySync() as unknown as number[];
  const [w0, b0, w1, b1] = [w('h/fc0/kernel'), b('h/fc0/bias'), w('h/fc1/kernel'), b('h/fc1/bias')];
  const got = head(tf.tensor2d(A), { training: true }).arraySync();
  A.forEach((x, i) => {
    const hidden = [0, 1].map((j) => Math.max(0, x.reduce((s, v, k) => s + v * w0[k]![j]!, b0[j]!)));
    [0, 1].forEach((j) => close(got[i]![j]!, hidden.reduce((s, v, k) => s + v * w1[k]![j]!, b1[j]!), `row ${i} out ${j}`));
  });
  params.dispose();
});

test('collapse indicators: effective rank is ≈1 for features on a line, ≈d for isotropic ones; spread → 0 when collapsed', () => {
  const n = 400, d = 16;
  let seed = 1;
  const gauss = () => {
    seed = (seed * 16807) % 2147483647;
    const u = seed / 2147483647;
    seed = (seed * 16807) % 2147483647;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * (seed / 2147483647));
  };
  const iso = Float32Array.from({ length: n * d }, gauss);
  const direction = Array.from({ length: d }, gauss);
  const line = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const t = gauss();
    for (let j = 0; j < d; j++) line[i * d + j] = direction[j]! * (t > 0 ? 1 : -1) * (1 + 0.001 * gauss());
  }
  const same = new Float32Array(n * d);
  for (let i = 0; i < n; i++) same.set(direction, i * d);
  assert.ok(effectiveRank(iso, d) > 0.8 * d, `isotropic rank ${effectiveRank(iso, d)}`);
  assert.ok(effectiveRank(line, d) < 1.5, `line rank ${effectiveRank(line, d)}`);
  assert.ok(featureSpread(same, d) < 1e-3 && featureSpread(iso, d) > 0.8, 'spread');
  // Jacobi eigenvalues of a known symmetric matrix.
  const eig = [...symmetricEigenvalues(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3)].sort((a, b) => a - b);
  eig.forEach((v, i) => close(v, [1, 3, 5][i]!, `eigenvalue ${i}`));
});

test('presets: shared presets carry each method\'s changes, resolve against its hyper-parameters, and bad presets are refused', () => {
  for (const method of builtinSslMethods) {
    const presets = presetsFor(method);
    assert.deepEqual(presets.slice(0, 3).map((p) => p.id), ['fast-cpu', 'balanced', 'quality-gpu'], method.id);
    for (const p of presets) assert.doesNotThrow(() => resolveHyperparameters(method, p.hyperparameters), `${method.id}/${p.id}`);
  }
  const dino = builtinSslMethods.find((m) => m.id === 'dino')!;
  const fast = findPreset(dino, 'fast-cpu');
  assert.equal(fast.settings.imageSize, 32);
  assert.equal(fast.settings.batchSize, 64, 'the method\'s change wins over the shared value');
  assert.equal(fast.hyperparameters.outDim, 1024);
  assert.throws(() => findPreset(dino, 'turbo'), /no preset "turbo"/);
  const broken = { ...dino, presets: [{ id: 'fast-cpu', hyperparameters: { outDim: 3 } }] };
  assert.match(validateSslMethod(broken, 'dino') ?? '', /preset "fast-cpu": .*at least 16/);
});
