// Row-wise vector helpers shared by the collapse indicators, clustering and kNN-style code.

/** Each row of an n×dim matrix scaled to unit length (zero rows stay zero). */
export function l2normalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length / dim; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i * dim + j]! ** 2;
    const inv = 1 / (Math.sqrt(s) || 1);
    for (let j = 0; j < dim; j++) out[i * dim + j] = x[i * dim + j]! * inv;
  }
  return out;
}
