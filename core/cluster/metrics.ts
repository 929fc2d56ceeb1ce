// Clustering quality against known labels (DESIGN §5): NMI (arithmetic-mean normalisation, as
// scikit-learn's default), adjusted Rand index, and accuracy under the best one-to-one mapping of
// clusters to classes (Hungarian algorithm). Rows whose label is −1 are ignored.

export interface ClusterScores {
  nmi: number;
  ari: number;
  accuracy: number;
  /** Labelled rows the scores were computed on. */
  count: number;
}

function contingency(pred: Int32Array, truth: Int32Array): { table: number[][]; rows: number; cols: number; n: number } {
  const pIds = new Map<number, number>(), tIds = new Map<number, number>();
  const pairs: [number, number][] = [];
  for (let i = 0; i < pred.length; i++) {
    if (truth[i]! < 0 || pred[i]! < 0) continue;
    if (!pIds.has(pred[i]!)) pIds.set(pred[i]!, pIds.size);
    if (!tIds.has(truth[i]!)) tIds.set(truth[i]!, tIds.size);
    pairs.push([pIds.get(pred[i]!)!, tIds.get(truth[i]!)!]);
  }
  const table = Array.from({ length: pIds.size }, () => new Array<number>(tIds.size).fill(0));
  for (const [p, t] of pairs) table[p]![t]!++;
  return { table, rows: pIds.size, cols: tIds.size, n: pairs.length };
}

const entropy = (counts: number[], n: number) => counts.reduce((h, c) => (c > 0 ? h - (c / n) * Math.log(c / n) : h), 0);

export function scoreClustering(pred: Int32Array, truth: Int32Array): ClusterScores {
  const { table, rows, cols, n } = contingency(pred, truth);
  if (n === 0) return { nmi: NaN, ari: NaN, accuracy: NaN, count: 0 };
  const a = table.map((r) => r.reduce((s, v) => s + v, 0));
  const b = Array.from({ length: cols }, (_, j) => table.reduce((s, r) => s + r[j]!, 0));
  let mi = 0;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    const v = table[i]![j]!;
    if (v > 0) mi += (v / n) * Math.log((n * v) / (a[i]! * b[j]!));
  }
  const ha = entropy(a, n), hb = entropy(b, n);
  const nmi = ha + hb === 0 ? 1 : (2 * mi) / (ha + hb);
  const comb2 = (x: number) => (x * (x - 1)) / 2;
  let sumIj = 0;
  for (const r of table) for (const v of r) sumIj += comb2(v);
  const sumA = a.reduce((s, v) => s + comb2(v), 0), sumB = b.reduce((s, v) => s + comb2(v), 0);
  const expected = (sumA * sumB) / comb2(n), max = (sumA + sumB) / 2;
  const ari = max === expected ? 1 : (sumIj - expected) / (max - expected);
  const assignment = hungarianMax(table);
  let matched = 0;
  assignment.forEach((j, i) => { if (j >= 0) matched += table[i]![j]!; });
  return { nmi, ari, accuracy: matched / n, count: n };
}

/**
 * Maximum-weight assignment of rows to columns (each used at most once) by the Hungarian algorithm
 * on the padded square cost matrix (Kuhn–Munkres with potentials, O(m³)). Returns the column of
 * each row, −1 where a row got a padding column.
 */
export function hungarianMax(weights: number[][]): Int32Array {
  const rows = weights.length, cols = weights[0]?.length ?? 0;
  const m = Math.max(rows, cols);
  let top = 0;
  for (const r of weights) for (const v of r) top = Math.max(top, v);
  const cost = (i: number, j: number) => (i < rows && j < cols ? top - weights[i]![j]! : top);
  const u = new Float64Array(m + 1), v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1), way = new Int32Array(m + 1);
  for (let i = 1; i <= m; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0);
  }
  const out = new Int32Array(rows).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]! - 1 < rows && j - 1 < cols) out[p[j]! - 1] = j - 1;
  return out;
}
