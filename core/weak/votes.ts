// The vote matrix of a set of unipolar labeling functions: LF j votes for class `classOf[j]` on
// the rows it fires on and abstains elsewhere. Stored row-major and sparse (CSR), because label
// models walk rows and a row sees only the few LFs that fire on it.

export interface VoteMatrix {
  rows: number;
  classes: number;
  /** Class each LF votes for. */
  classOf: Int32Array;
  /** CSR: the LFs firing on row i are lf[rowStart[i] … rowStart[i + 1]). */
  rowStart: Uint32Array;
  lf: Uint32Array;
  /**
   * Dense group id of each LF. LFs of one group are cuts of one score at several thresholds (nested
   * coverage), so they are far from independent; label models treat a group as one ordinal source.
   */
  groupOf: Int32Array;
  groups: number;
}

/** Builds the CSR matrix from each LF's ascending list of fired rows. */
export function voteMatrix(rows: number, classes: number, lfs: { classIndex: number; fires: Uint32Array; group?: string }[]): VoteMatrix {
  const counts = new Uint32Array(rows + 1);
  for (const l of lfs) for (let t = 0; t < l.fires.length; t++) counts[l.fires[t]! + 1]!++;
  for (let i = 0; i < rows; i++) counts[i + 1]! += counts[i]!;
  const rowStart = counts;
  const fill = rowStart.slice(0, rows);
  const lf = new Uint32Array(rowStart[rows]!);
  lfs.forEach((l, j) => {
    for (let t = 0; t < l.fires.length; t++) lf[fill[l.fires[t]!]!++] = j;
  });
  const ids = new Map<string, number>();
  const groupOf = Int32Array.from(lfs, (l, j) => {
    const key = l.group !== undefined ? `${l.classIndex}|${l.group}` : `#${j}`;
    if (!ids.has(key)) ids.set(key, ids.size);
    return ids.get(key)!;
  });
  return { rows, classes, classOf: Int32Array.from(lfs, (l) => l.classIndex), rowStart, lf, groupOf, groups: ids.size };
}

/** Rows on which at least one LF fires. */
export function coveredRows(m: VoteMatrix): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < m.rows; i++) if (m.rowStart[i + 1]! > m.rowStart[i]!) out.push(i);
  return Uint32Array.from(out);
}

/** Per-row class probabilities of a label model; rows with no vote are all zeros (abstain). */
export interface ProbabilisticLabels {
  classes: number;
  /** rows × classes, row-major. */
  probs: Float32Array;
  covered: Uint8Array;
}

/** Argmax class and its probability per row; −1 where the row is not covered. */
export function hardLabels(p: ProbabilisticLabels): { label: Int32Array; confidence: Float32Array } {
  const n = p.covered.length, k = p.classes;
  const label = new Int32Array(n).fill(-1), confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (!p.covered[i]) continue;
    let best = 0;
    for (let c = 1; c < k; c++) if (p.probs[i * k + c]! > p.probs[i * k + best]!) best = c;
    label[i] = best;
    confidence[i] = p.probs[i * k + best]!;
  }
  return { label, confidence };
}
