// UMAP's layout optimisation (McInnes et al. 2018, §3.2) on typed arrays. umap-js builds the
// fuzzy graph and the a/b curve; its own epoch loop works on number[][] with Math.pow per pair and
// takes ~80% of the time (200 epochs of 20k points: 20 s). This loop is the same algorithm —
// attractive steps along each edge at its sampling rate, `negativeSampleRate` repulsive steps per
// positive one, gradients clipped at 4, learning rate decaying linearly — over a flat
// Float32Array, and 2-D specialised, which is where it wins.

export interface LayoutGraph {
  head: ArrayLike<number>;
  tail: ArrayLike<number>;
  epochsPerSample: ArrayLike<number>;
  nVertices: number;
}

export interface LayoutOptions {
  nEpochs: number;
  a: number;
  b: number;
  negativeSampleRate?: number;
  repulsionStrength?: number;
  learningRate?: number;
  /** Uniform in [0, 1). */
  random(): number;
}

const clip = (v: number) => (v > 4 ? 4 : v < -4 ? -4 : v);

/** Optimises an n × 2 layout in place, one epoch per call (so a caller can yield between epochs). */
export class LayoutOptimizer {
  epoch = 0;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private readonly perSample: Float64Array;
  private readonly perNegative: Float64Array;
  private readonly nextSample: Float64Array;
  private readonly nextNegative: Float64Array;

  constructor(readonly embedding: Float32Array, private readonly graph: LayoutGraph, private readonly o: LayoutOptions) {
    this.head = Int32Array.from(graph.head);
    this.tail = Int32Array.from(graph.tail);
    this.perSample = Float64Array.from(graph.epochsPerSample);
    this.perNegative = this.perSample.map((e) => e / (o.negativeSampleRate ?? 5));
    this.nextSample = Float64Array.from(this.perSample);
    this.nextNegative = Float64Array.from(this.perNegative);
  }

  get done(): boolean {
    return this.epoch >= this.o.nEpochs;
  }

  step(): void {
    const { a, b, nEpochs, random } = this.o, y = this.embedding, epoch = this.epoch;
    const { head, tail, perSample, perNegative, nextSample, nextNegative } = this;
    const nv = this.graph.nVertices, edges = perSample.length;
    const alpha = (this.o.learningRate ?? 1) * (1 - epoch / nEpochs);
    const ab2 = -2 * a * b, gb2 = 2 * (this.o.repulsionStrength ?? 1) * b;
    for (let e = 0; e < edges; e++) {
      if (nextSample[e]! > epoch) continue;
      const j = head[e]!, k = tail[e]!;
      let cx = y[2 * j]!, cy = y[2 * j + 1]!;
      const dx = cx - y[2 * k]!, dy = cy - y[2 * k + 1]!;
      const d2 = dx * dx + dy * dy;
      if (d2 > 0) {
        const pb = Math.pow(d2, b);
        const coeff = (ab2 * pb) / d2 / (a * pb + 1);
        const gx = clip(coeff * dx) * alpha, gy = clip(coeff * dy) * alpha;
        cx += gx;
        cy += gy;
        y[2 * k] = y[2 * k]! - gx;
        y[2 * k + 1] = y[2 * k + 1]! - gy;
      }
      nextSample[e]! += perSample[e]!;
      const negatives = Math.floor((epoch - nextNegative[e]!) / perNegative[e]!);
      for (let p = 0; p < negatives; p++) {
        const q = Math.floor(random() * nv);
        if (q === j) continue;
        const ox = cx - y[2 * q]!, oy = cy - y[2 * q + 1]!;
        const q2 = ox * ox + oy * oy;
        if (q2 > 0) {
          const coeff = gb2 / ((0.001 + q2) * (a * Math.pow(q2, b) + 1));
          cx += clip(coeff * ox) * alpha;
          cy += clip(coeff * oy) * alpha;
        } else {
          cx += 4 * alpha;
          cy += 4 * alpha;
        }
      }
      y[2 * j] = cx;
      y[2 * j + 1] = cy;
      nextNegative[e]! += negatives * perNegative[e]!;
    }
    this.epoch++;
  }
}
