// The neighbour graph label spreading runs on, chosen by cross-validation on the person's labels
// (core/weak/graph-choice.ts), and the spreading it reads (several seed sets at once, native and
// JavaScript diffusion alike).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeKernels } from '../core/engine/backends/native-kernels.ts';
import { Rng } from '../core/engine/rng.ts';
import { chooseGraph, crossValidatedSpread, MIN_CHOICE_LABELS } from '../core/weak/graph-choice.ts';
import { neighbourGraph, spreadLabels, spreadLabelsMany } from '../core/weak/propagate.ts';
import { smallDirectionBlobs } from './helpers/blobs.ts';

/** Seeds (n × k) for the first `per` rows of each class, and those rows with their class. */
function seedsOf(truth: Int32Array, k: number, per: number) {
  const seeds = new Float32Array(truth.length * k), labelled: { row: number; cls: number }[] = [];
  const count = new Array(k).fill(0);
  truth.forEach((c, row) => {
    if (count[c]++ >= per) return;
    seeds[row * k + c] = 1;
    labelled.push({ row, cls: c });
  });
  return { seeds, labelled };
}


/** Two classes along two large directions, the noise even across all (weak.test.ts's propagation case). */
function largeDirections(n: number, dim: number, seed: number) {
  const rng = new Rng(seed), x = new Float32Array(n * dim), truth = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = (j === truth[i]! ? 4 : 0) + rng.normal();
  return { x, truth };
}

test('graph choice: the blended geometry where a small direction tells the classes apart, the embedding\'s own where the large ones do; too few labels choose nothing', async () => {
  const options = { alpha: 0.99 };
  {
    const dim = 32, { x, y: truth } = smallDirectionBlobs(400, dim, 1, 1);
    const { seeds, labelled } = seedsOf(truth, 2, 10);
    const choice = await chooseGraph(x, dim, seeds, 2, labelled, options, 0);
    assert.equal(choice.geometry, 'blended', JSON.stringify(choice.scores));
    assert.ok(choice.scores!.blended > choice.scores!.embedding + 0.15, JSON.stringify(choice.scores));
    // What the choice is for: the chosen graph spreads the seeds to the rest of the rows better.
    const own = await neighbourGraph(x, dim, 10);
    const accuracy = (spread: Float32Array) => truth.filter((c, i) => spread[i * 2 + c]! > spread[i * 2 + 1 - c]!).length / truth.length;
    const chosen = accuracy(spreadLabels(choice.graph, seeds, 2, options)), plain = accuracy(spreadLabels(own, seeds, 2, options));
    assert.ok(chosen > plain + 0.1, `spread accuracy ${chosen.toFixed(3)} on the chosen graph, ${plain.toFixed(3)} on the embedding's`);
    const few = seedsOf(truth, 2, (MIN_CHOICE_LABELS - 2) / 2);
    const none = await chooseGraph(x, dim, few.seeds, 2, few.labelled, options, 0);
    assert.equal(none.geometry, 'embedding');
    assert.equal(none.scores, null);
  }
  {
    const dim = 16, { x, truth } = largeDirections(600, dim, 4);
    const { seeds, labelled } = seedsOf(truth, 2, 10);
    const choice = await chooseGraph(x, dim, seeds, 2, labelled, options, 0);
    assert.equal(choice.geometry, 'embedding', JSON.stringify(choice.scores));
    assert.ok(choice.scores!.embedding >= 0.9, JSON.stringify(choice.scores));
  }
});

test('spreading: several seed sets at once give each one\'s own spreading; the native diffusion gives the JavaScript one; cross-validation leaves each fold\'s labels out', async () => {
  const dim = 16, { x, truth } = largeDirections(300, dim, 2);
  const graph = await neighbourGraph(x, dim, 10);
  const a = seedsOf(truth, 2, 3).seeds, b = seedsOf(truth, 2, 20).seeds;
  const options = { alpha: 0.97, balance: 0.5 };
  const [ma, mb] = spreadLabelsMany(graph, [a, b], 2, options);
  const [sa, sb] = [spreadLabels(graph, a, 2, options), spreadLabels(graph, b, 2, options)];
  for (let i = 0; i < sa.length; i++) assert.ok(Math.abs(ma![i]! - sa[i]!) < 1e-6 && Math.abs(mb![i]! - sb[i]!) < 1e-6);
  const load = loadNativeKernels();
  if (load.ok && load.kernels.spreadDiffuse) {
    const js = spreadLabels(graph, b, 2, options, true);
    for (let i = 0; i < js.length; i++) assert.ok(Math.abs(js[i]! - sb[i]!) < 1e-9, `row ${i >> 1}: ${js[i]} against ${sb[i]}`);
    // A malformed graph is refused, not read out of bounds.
    const bad = { ...graph, col: Uint32Array.from(graph.col, (c, t) => (t === 5 ? 10_000 : c)) };
    assert.throws(() => spreadLabels(bad, b, 2, options), /spreadDiffuse: an edge's column is outside the rows/);
  }
  // A left-out label counts only as the other seeds spread to it: the one label of class 1, once
  // left out, leaves that class no seed, so it cannot come out right.
  const seeds = new Float32Array(truth.length * 2), labelled: { row: number; cls: number }[] = [];
  for (let row = 0; row < 20; row++) if (truth[row] === 0) (seeds[row * 2] = 1, labelled.push({ row, cls: 0 }));
  labelled.push({ row: 1, cls: 1 });
  seeds[1 * 2 + 1] = 1;
  const score = crossValidatedSpread(graph, seeds, 2, labelled, options, 0);
  assert.ok(score <= (labelled.length - 1) / labelled.length + 1e-9, `the lone class-1 label cannot be right once left out: ${score}`);
});
