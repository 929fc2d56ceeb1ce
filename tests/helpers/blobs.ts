import { Rng } from '../../core/engine/rng.ts';

/**
 * Two classes (alternating rows) told apart by one low-variance direction (±`separation`, noise
 * 0.1), beside four high-variance nuisance directions (noise 4); the rest near zero. Where raw
 * cosine neighbours miss the classes and whitened ones find them (whiten.ts, graph-choice.ts).
 */
export function smallDirectionBlobs(n: number, dim: number, seed: number, separation = 0.5): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed), x = new Float32Array(n * dim), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < 4; j++) x[i * dim + j] = (j === 0 ? 5 : 0) + 4 * rng.normal();
    x[i * dim + 4] = (y[i] ? separation : -separation) + 0.1 * rng.normal();
    for (let j = 5; j < dim; j++) x[i * dim + j] = 0.05 * rng.normal();
  }
  return { x, y };
}
