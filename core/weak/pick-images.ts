// Which unlabelled images a person should label next (active labelling), shared by the Label
// view's suggestions (active.ts) and the simulated expert (simulate.ts), so the benchmark measures
// what the user gets.
//
// Two kinds of pick (Hacohen et al., "Active learning on a budget", ICML 2022):
// - Typical images of the regions no label covers yet (TypiClust): k-means with k = labels +
//   picks splits the data; the largest clusters without a label each give their most typical
//   image (densest among its cluster-mates). With a handful of labels per class, the model's
//   uncertainty mostly points at outliers and at the seams between two poorly known classes, while
//   whole regions still have no label at all.
// - The least certain images (smallest margin between the model's two most likely classes),
//   weighed by how typical they are (pickUncertain), no two near-duplicates in one batch.
// While labels are few (under TYPICAL_LABELS_PER_CLASS per class) each batch is half of each, then
// least certain only. Typical alone fills the largest regions first: on emoji, where one class
// holds 61% of the images (and near-duplicate skin-tone variants make dense regions), it stalled.
// End model after 3 example images per class + 10 / 25 / 50 / 100 picks in batches of 5, mean of
// 3 draws (`npm run bench -- iws`): Fashion-MNIST (ceiling 84.4%) half and half 70.4 / 73.8 / 76.1 /
// 77.6%, least certain only 69.0 / 71.9 / 74.3 / 76.9%; emoji (ceiling 78.4%) half and half 65.8 /
// 69.5 / 69.3 / 71.1%, least certain only 58.3 / 64.1 / 69.6 / 71.0%. Typical only, at 25 / 50 /
// 100: Fashion-MNIST 74.5 / 75.9 / 77.9%, emoji 69.7 / 68.7 / 68.8% (2 draws). Fashion-MNIST, one
// draw, to 300 picks: typical only 75.2 / 78.8 / 80.1 / 80.7% after 50 / 100 / 200 / 300, least
// certain only 73.2 / 78.3 / 76.7 / 78.6%: the switch is set past the 33 labels per class measured.
import { kmeans } from '../cluster/kmeans.ts';
import { Rng } from '../engine/rng.ts';

/** Below this many labels per class (on average), half of each batch is typical images of unlabelled regions. */
export const TYPICAL_LABELS_PER_CLASS = 40;
/** Most rows clustered (a random sample beyond; labelled rows always in). */
const MAX_CLUSTER_ROWS = 20_000;
/** Most members scored for typicality per cluster (typicality is quadratic in them). */
const MAX_TYPICALITY_MEMBERS = 1_000;
/** Neighbours a typicality is the mean similarity to. */
const TYPICALITY_NEIGHBOURS = 20;
/** Least-certain rows weighed by typicality before picking (pickUncertain). */
const UNCERTAIN_SHORTLIST = 100;
/** Most pool rows a shortlisted row's typicality is measured against (a random sample beyond). */
const DENSITY_REFERENCE = 2_000;
/** Two picks of one batch closer than this (cosine) are near-duplicates. */
const NEAR_DUPLICATE = 0.95;

export interface PickInput {
  /** Unit-length rows (n × dim). */
  features: Float32Array;
  dim: number;
  /** Rows that may be picked. */
  pool: number[];
  /** Rows already labelled or already on their way to the person (queued, skipped): regions they cover need no pick. */
  covered: number[];
  classes: number;
  count: number;
  /** The current model's class probabilities for the pool rows (pool order); needed in the least-certain regime. */
  probabilities?: (rows: number[]) => Float32Array;
  seed?: number;
  signal?: AbortSignal;
}

export type PickReason = 'typical' | 'uncertain';

/** The share of a batch picked as typical images, for this many labels. */
export function typicalShare(labelled: number, classes: number): number {
  return labelled < TYPICAL_LABELS_PER_CLASS * Math.max(1, classes) ? 0.5 : 0;
}

function dot(x: Float32Array, dim: number, a: number, b: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += x[a * dim + j]! * x[b * dim + j]!;
  return s;
}

/** Mean similarity to its nearest cluster-mates, for each of `rows` among `members`. */
function typicality(x: Float32Array, dim: number, rows: number[], members: number[]): Float64Array {
  const out = new Float64Array(rows.length);
  const sims = new Float64Array(members.length);
  rows.forEach((r, i) => {
    let m = 0;
    for (const o of members) if (o !== r) sims[m++] = dot(x, dim, r, o);
    const nearest = sims.subarray(0, m).sort().reverse().subarray(0, TYPICALITY_NEIGHBOURS);
    out[i] = nearest.length ? nearest.reduce((a, b) => a + b, 0) / nearest.length : 0;
  });
  return out;
}

/** Typical images of the largest regions no covered row falls in (TypiClust). */
async function pickTypical(input: PickInput): Promise<number[]> {
  const { features: x, dim, count } = input;
  const rng = new Rng(input.seed ?? 0);
  const covered = new Set(input.covered);
  const room = Math.max(0, MAX_CLUSTER_ROWS - covered.size);
  const pool = input.pool.length > room ? rng.shuffle(input.pool.slice()).slice(0, room) : input.pool;
  const rows = [...covered, ...pool.filter((r) => !covered.has(r))];
  const k = Math.min(rows.length, covered.size + count);
  if (k < 2) return pool.slice(0, count);
  const sub = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => sub.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  const { labels } = await kmeans(sub, dim, { k, restarts: 1, seed: input.seed ?? 0, ...(input.signal ? { signal: input.signal } : {}) });
  const members: number[][] = Array.from({ length: k }, () => []);
  const hasCovered = new Uint8Array(k);
  rows.forEach((r, i) => (covered.has(r) ? (hasCovered[labels[i]!] = 1) : members[labels[i]!]!.push(r)));
  const open = members.map((m, c) => ({ m, c })).filter(({ m, c }) => !hasCovered[c] && m.length > 0).sort((a, b) => b.m.length - a.m.length);
  const picks: number[] = [];
  for (const { m } of open) {
    if (picks.length >= count) break;
    const scored = m.length > MAX_TYPICALITY_MEMBERS ? rng.shuffle(m.slice()).slice(0, MAX_TYPICALITY_MEMBERS) : m;
    const t = typicality(x, dim, scored, scored);
    let best = 0;
    for (let i = 1; i < scored.length; i++) if (t[i]! > t[best]!) best = i;
    picks.push(scored[best]!);
    input.signal?.throwIfAborted();
  }
  return picks;
}

/**
 * The least-certain pool rows, weighed by how typical each is (information density, Settles &
 * Craven 2008): of the UNCERTAIN_SHORTLIST rows with the smallest top-two margin, the highest
 * (1 − margin) × typicality (mean similarity to its nearest among up to DENSITY_REFERENCE pool
 * rows) first, skipping near-duplicates of earlier picks. Margin alone also picks outliers, whose
 * label teaches the model about no other image. Mean of 24 draws (seeds 0–23), end model after 10 /
 * 25 / 50 / 100 picks, margin alone → weighed: Fashion-MNIST 70.6 / 72.6 / 74.7 / 76.5% → 71.1 /
 * 73.0 / 74.8 / 76.3%, emoji 67.7 / 70.4 / 71.5 / 72.4% → 68.3 / 71.3 / 72.1 / 72.8%. Typicality
 * cubed: Fashion-MNIST 74.5% at 50, emoji 72.0%.
 */
function pickUncertain(input: PickInput): number[] {
  const { features: x, dim, pool, classes: k, count } = input;
  if (!input.probabilities) return pool.slice(0, count);
  const probs = input.probabilities(pool);
  const ranked = pool.map((r, i) => {
    let a = 0, b = 0;
    for (let c = 0; c < k; c++) {
      const v = probs[i * k + c]!;
      if (v > a) (b = a), (a = v);
      else if (v > b) b = v;
    }
    return { r, margin: a - b };
  }).sort((p, q) => p.margin - q.margin);
  const shortlist = ranked.slice(0, UNCERTAIN_SHORTLIST);
  const reference = pool.length > DENSITY_REFERENCE ? new Rng(input.seed ?? 0).shuffle(pool.slice()).slice(0, DENSITY_REFERENCE) : pool;
  const density = typicality(x, dim, shortlist.map((p) => p.r), reference);
  const weighed = shortlist.map((p, i) => ({ r: p.r, score: (1 - p.margin) * Math.max(0, density[i]!) })).sort((p, q) => q.score - p.score);
  const order = [...weighed, ...ranked.slice(shortlist.length)];
  const picks: number[] = [];
  for (const { r } of order) {
    if (picks.length >= count) break;
    if (!picks.some((p) => dot(x, dim, p, r) > NEAR_DUPLICATE)) picks.push(r);
  }
  return picks;
}

/**
 * The next `count` rows to label, each with why it was picked: half typical while `labelled` (the
 * person's labels) is under TYPICAL_LABELS_PER_CLASS per class, then least certain only; `only`
 * forces one kind (for comparison in the simulation). Without probabilities, typical only.
 */
export async function pickImagesToLabel(input: PickInput, options: { labelled?: number; only?: PickReason } = {}): Promise<{ rows: number[]; reasons: PickReason[] }> {
  const share = options.only ? (options.only === 'typical' ? 1 : 0) : input.probabilities ? typicalShare(options.labelled ?? input.covered.length, input.classes) : 1;
  const wanted = Math.min(input.count, Math.ceil(share * input.count));
  const typical = wanted > 0 ? await pickTypical({ ...input, count: wanted }) : [];
  const taken = new Set(typical);
  const uncertain = pickUncertain({ ...input, pool: input.pool.filter((r) => !taken.has(r)), count: input.count - typical.length });
  return { rows: [...typical, ...uncertain], reasons: [...typical.map(() => 'typical' as const), ...uncertain.map(() => 'uncertain' as const)] };
}
