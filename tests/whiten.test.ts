import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitWhitening, whitenedGeometry, whitenedUnitRows } from '../core/learn/whiten.ts';
import { l2normalizeRows } from '../core/learn/vectors.ts';
import { smallDirectionBlobs } from './helpers/blobs.ts';

const blobs = (n: number, dim: number, seed: number) => smallDirectionBlobs(n, dim, seed);

function nearestNeighbourAccuracy(u: Float32Array, dim: number, y: Int32Array): number {
  const n = y.length;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = -1, bestSim = -Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let d = 0; d < dim; d++) s += u[i * dim + d]! * u[j * dim + d]!;
      if (s > bestSim) (bestSim = s), (best = j);
    }
    if (y[best] === y[i]) right++;
  }
  return right / n;
}

test('whitening: the small direction that tells classes apart counts for neighbours', () => {
  const dim = 8, { x, y } = blobs(200, dim, 1);
  const raw = nearestNeighbourAccuracy(l2normalizeRows(x, dim), dim, y);
  const white = nearestNeighbourAccuracy(whitenedGeometry(x, dim), dim, y);
  assert.ok(white > raw + 0.05, `whitened 1-NN ${white} against raw ${raw}`);
});

test('whitening: without shrinkage the fitted rows have unit covariance; with it, large directions are compressed', () => {
  const dim = 6, { x } = blobs(600, dim, 2);
  const variances = (w: ReturnType<typeof fitWhitening>) => {
    const n = x.length / dim, u = l2normalizeRows(x, dim), out = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      for (let e = 0; e < dim; e++) {
        let z = 0;
        for (let j = 0; j < dim; j++) z += (u[i * dim + j]! - w.mean[j]!) * w.matrix[e * dim + j]!;
        out[e]! += (z * z) / n;
      }
    }
    return [...out];
  };
  for (const v of variances(fitWhitening(x, dim, { shrinkage: 0 }))) assert.ok(Math.abs(v - 1) < 1e-6, `variance ${v}`);
  const shrunk = variances(fitWhitening(x, dim, { shrinkage: 1 }));
  assert.ok(Math.max(...shrunk) < 1 && Math.min(...shrunk) >= 0);
  // Identical rows: no variance to whiten, finite unit output.
  const same = new Float32Array(10 * dim).fill(1);
  const rows = whitenedUnitRows(same, dim, fitWhitening(same, dim));
  assert.ok(rows.every((v) => Number.isFinite(v)));
});

test('whitening: the native projection gives the JavaScript one, across its row blocks', () => {
  const dim = 24, { x } = blobs(20_000, dim, 3);
  const w = fitWhitening(x, dim);
  const native = whitenedUnitRows(x, dim, w), js = whitenedUnitRows(x, dim, w, { forceJs: true });
  let worst = 0;
  for (let i = 0; i < js.length; i++) worst = Math.max(worst, Math.abs(native[i]! - js[i]!));
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
});
