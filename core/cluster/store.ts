// Clusterings in the project database, and the explorer's edits of them (DESIGN §5, §7): name a
// cluster (a class, and labels with source `cluster` on its members), merge, split (re-cluster
// inside), discard, mark outliers. Every edit runs in one transaction with an undo record that
// holds the rows it changed, so `undoLastEdit` restores exactly what was there.
import { LoupeError } from '../errors.ts';
import type { Db } from '../store/database.ts';
import { ensureClass } from '../store/images.ts';
import type { ClusterScores } from './metrics.ts';
import type { Clustering } from './sela.ts';

export type ClusterAlgo = 'kmeans' | 'sk' | 'sela';

export interface ClusteringRow {
  id: number;
  datasetId: number;
  embeddingId: number;
  algo: ClusterAlgo;
  k: number;
  heads: number;
  params: Record<string, unknown>;
  scores: (ClusterScores & { perHead?: ClusterScores[] }) | null;
  createdAt: string;
}

export interface ClusterSummary {
  idx: number;
  name: string | null;
  className: string | null;
  state: 'active' | 'merged' | 'discarded';
  size: number;
  outliers: number;
  meanConfidence: number;
  /** The most confident members, for the cluster list's thumbnails. */
  samples: number[];
}

export function saveClustering(db: Db, c: { datasetId: number; embeddingId: number; algo: ClusterAlgo; k: number; params: Record<string, unknown>; scores: ClusteringRow['scores'] },
  imageIds: number[], heads: Clustering[]): number {
  return db.transaction(() => {
    const id = Number(db.prepare('INSERT INTO clusterings (dataset_id, embedding_id, algo, k, heads, params, scores) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(c.datasetId, c.embeddingId, c.algo, c.k, heads.length, JSON.stringify(c.params), c.scores ? JSON.stringify(c.scores) : null).lastInsertRowid);
    const member = db.prepare('INSERT INTO cluster_members (clustering_id, head, image_id, cluster, confidence) VALUES (?, ?, ?, ?, ?)');
    heads.forEach((h, head) => imageIds.forEach((imageId, i) => member.run(id, head, imageId, h.labels[i]!, h.confidence[i]!)));
    const dim = heads[0]!.centroids.length / c.k;
    const cluster = db.prepare('INSERT INTO clusters (clustering_id, idx, centroid) VALUES (?, ?, ?)');
    for (let k = 0; k < c.k; k++) cluster.run(id, k, Buffer.from(heads[0]!.centroids.slice(k * dim, (k + 1) * dim).buffer));
    return id;
  })();
}

interface RawClustering { id: number; datasetId: number; embeddingId: number; algo: ClusterAlgo; k: number; heads: number; params: string; scores: string | null; createdAt: string }
const SELECT = `SELECT id, dataset_id AS datasetId, embedding_id AS embeddingId, algo, k, heads, params, scores, created_at AS createdAt FROM clusterings`;
const parse = (r: RawClustering): ClusteringRow => ({ ...r, params: JSON.parse(r.params), scores: r.scores ? JSON.parse(r.scores) : null });

export function getClustering(db: Db, id: number): ClusteringRow {
  const row = db.prepare(`${SELECT} WHERE id = ?`).get(id) as RawClustering | undefined;
  if (!row) throw new LoupeError('not-found', `Clustering ${id} does not exist.`, { hint: 'Run a clustering first (Explore → Cluster).' });
  return parse(row);
}

export function listClusterings(db: Db, datasetId: number): ClusteringRow[] {
  return (db.prepare(`${SELECT} WHERE dataset_id = ? ORDER BY id DESC`).all(datasetId) as RawClustering[]).map(parse);
}

export function listClusters(db: Db, clusteringId: number, samples = 6): ClusterSummary[] {
  const rows = db.prepare(`
    SELECT c.idx, c.name, cl.name AS className, c.state,
      COUNT(m.image_id) AS size, COALESCE(SUM(m.outlier), 0) AS outliers, COALESCE(AVG(m.confidence), 0) AS meanConfidence
    FROM clusters c
    LEFT JOIN classes cl ON cl.id = c.class_id
    LEFT JOIN cluster_members m ON m.clustering_id = c.clustering_id AND m.head = 0 AND m.cluster = c.idx
    WHERE c.clustering_id = ? GROUP BY c.idx ORDER BY c.idx`).all(clusteringId) as Omit<ClusterSummary, 'samples'>[];
  const top = db.prepare('SELECT image_id AS id FROM cluster_members WHERE clustering_id = ? AND head = 0 AND cluster = ? AND outlier = 0 ORDER BY confidence DESC LIMIT ?');
  return rows.map((r) => ({ ...r, samples: (top.all(clusteringId, r.idx, samples) as { id: number }[]).map((x) => x.id) }));
}

export interface MemberPage {
  total: number;
  items: { imageId: number; confidence: number; outlier: boolean }[];
}

/** A cluster's members, most confident first (outliers last). */
export function clusterMembers(db: Db, clusteringId: number, idx: number, offset = 0, limit = 200): MemberPage {
  const total = (db.prepare('SELECT COUNT(*) AS n FROM cluster_members WHERE clustering_id = ? AND head = 0 AND cluster = ?').get(clusteringId, idx) as { n: number }).n;
  const items = (db.prepare(`SELECT image_id AS imageId, confidence, outlier FROM cluster_members WHERE clustering_id = ? AND head = 0 AND cluster = ?
    ORDER BY outlier, confidence DESC, image_id LIMIT ? OFFSET ?`).all(clusteringId, idx, limit, offset) as { imageId: number; confidence: number; outlier: number }[])
    .map((m) => ({ ...m, outlier: m.outlier === 1 }));
  return { total, items };
}

export function assignments(db: Db, clusteringId: number): { imageIds: number[]; clusters: Int32Array; confidence: Float32Array; outlier: Uint8Array } {
  const rows = db.prepare('SELECT image_id AS id, cluster, confidence, outlier FROM cluster_members WHERE clustering_id = ? AND head = 0 ORDER BY image_id').all(clusteringId) as { id: number; cluster: number; confidence: number; outlier: number }[];
  return {
    imageIds: rows.map((r) => r.id),
    clusters: Int32Array.from(rows, (r) => r.cluster),
    confidence: Float32Array.from(rows, (r) => r.confidence),
    outlier: Uint8Array.from(rows, (r) => r.outlier),
  };
}

// ——— Edits ———

interface Snapshot {
  clusters: { idx: number; name: string | null; class_id: number | null; state: string; centroid: Buffer | null }[];
  /** Members as they were (only those the edit touched). */
  members: { image_id: number; cluster: number; outlier: number }[];
  /** Cluster labels of touched images as they were (class id or null). */
  labels: { image_id: number; class_id: number | null; confidence: number }[];
  /** Clusters the edit created (removed on undo). */
  created: number[];
  /** The class a naming created (removed on undo when nothing else uses it). */
  createdClass?: number;
}

function requireCluster(db: Db, clusteringId: number, idx: number): void {
  const row = db.prepare('SELECT state FROM clusters WHERE clustering_id = ? AND idx = ?').get(clusteringId, idx) as { state: string } | undefined;
  if (!row) throw new LoupeError('not-found', `Cluster ${idx} does not exist in this clustering.`);
  if (row.state !== 'active') throw new LoupeError('conflict', `Cluster ${idx} was ${row.state}.`, { hint: 'Undo the edit that changed it, or pick another cluster.' });
}

function snapshot(db: Db, clusteringId: number, idxs: number[], imageIds: number[]): Snapshot {
  const c = db.prepare('SELECT idx, name, class_id, state, centroid FROM clusters WHERE clustering_id = ? AND idx = ?');
  const m = db.prepare('SELECT image_id, cluster, outlier FROM cluster_members WHERE clustering_id = ? AND head = 0 AND image_id = ?');
  const l = db.prepare("SELECT class_id, confidence FROM labels WHERE image_id = ? AND source = 'cluster'");
  return {
    clusters: idxs.map((i) => c.get(clusteringId, i) as Snapshot['clusters'][number]),
    members: imageIds.map((id) => m.get(clusteringId, id) as Snapshot['members'][number]),
    labels: imageIds.map((id) => {
      const row = l.get(id) as { class_id: number; confidence: number } | undefined;
      return { image_id: id, class_id: row?.class_id ?? null, confidence: row?.confidence ?? 0 };
    }),
    created: [],
  };
}

const memberIds = (db: Db, clusteringId: number, idx: number) =>
  (db.prepare('SELECT image_id AS id FROM cluster_members WHERE clustering_id = ? AND head = 0 AND cluster = ?').all(clusteringId, idx) as { id: number }[]).map((r) => r.id);

function record(db: Db, clusteringId: number, kind: string, undo: Snapshot): void {
  db.prepare('INSERT INTO cluster_edits (clustering_id, kind, undo) VALUES (?, ?, ?)').run(clusteringId, kind, JSON.stringify({
    ...undo, clusters: undo.clusters.map((c) => ({ ...c, centroid: c.centroid ? c.centroid.toString('base64') : null })),
  }));
}

/** Names a cluster: its class (created if new) and `cluster` labels on its non-outlier members. */
export function nameCluster(db: Db, clusteringId: number, idx: number, name: string): { classId: number; labelled: number } {
  return db.transaction(() => {
    requireCluster(db, clusteringId, idx);
    const { datasetId } = getClustering(db, clusteringId);
    const members = db.prepare('SELECT image_id AS id, confidence FROM cluster_members WHERE clustering_id = ? AND head = 0 AND cluster = ? AND outlier = 0').all(clusteringId, idx) as { id: number; confidence: number }[];
    const undo = snapshot(db, clusteringId, [idx], members.map((m) => m.id));
    const existed = db.prepare('SELECT 1 FROM classes WHERE dataset_id = ? AND name = ?').get(datasetId, name.trim()) !== undefined;
    const classId = ensureClass(db, datasetId, name);
    record(db, clusteringId, 'name', existed ? undo : { ...undo, createdClass: classId });
    db.prepare('UPDATE clusters SET name = ?, class_id = ? WHERE clustering_id = ? AND idx = ?').run(name.trim(), classId, clusteringId, idx);
    const clear = db.prepare("DELETE FROM labels WHERE image_id = ? AND source = 'cluster'");
    const insert = db.prepare("INSERT INTO labels (image_id, class_id, source, confidence) VALUES (?, ?, 'cluster', ?)");
    for (const m of members) {
      clear.run(m.id);
      insert.run(m.id, classId, Math.min(1, Math.max(0, m.confidence)));
    }
    return { classId, labelled: members.length };
  })();
}

/** Moves every member of `from` clusters into `into`; the emptied clusters are marked merged. */
export function mergeClusters(db: Db, clusteringId: number, from: number[], into: number): void {
  db.transaction(() => {
    for (const idx of [...from, into]) requireCluster(db, clusteringId, idx);
    const sources = from.filter((f) => f !== into);
    if (!sources.length) throw new LoupeError('invalid-input', 'Pick at least one other cluster to merge.');
    const moved = sources.flatMap((f) => memberIds(db, clusteringId, f));
    record(db, clusteringId, 'merge', snapshot(db, clusteringId, sources, moved));
    const move = db.prepare('UPDATE cluster_members SET cluster = ? WHERE clustering_id = ? AND head = 0 AND image_id = ?');
    for (const id of moved) move.run(into, clusteringId, id);
    const mark = db.prepare("UPDATE clusters SET state = 'merged' WHERE clustering_id = ? AND idx = ?");
    for (const f of sources) mark.run(clusteringId, f);
  })();
}

/** Splits a cluster by the given member partition (computed by re-clustering inside it): part 1 becomes a new cluster. */
export function splitCluster(db: Db, clusteringId: number, idx: number, secondPart: number[]): number {
  return db.transaction(() => {
    requireCluster(db, clusteringId, idx);
    const inside = new Set(memberIds(db, clusteringId, idx));
    if (!secondPart.length || secondPart.length >= inside.size || secondPart.some((id) => !inside.has(id))) {
      throw new LoupeError('invalid-input', 'A split needs a non-empty part of the cluster that is not all of it.');
    }
    const next = (db.prepare('SELECT MAX(idx) + 1 AS n FROM clusters WHERE clustering_id = ?').get(clusteringId) as { n: number }).n;
    const undo = snapshot(db, clusteringId, [idx], secondPart);
    undo.created = [next];
    record(db, clusteringId, 'split', undo);
    db.prepare('INSERT INTO clusters (clustering_id, idx) VALUES (?, ?)').run(clusteringId, next);
    const move = db.prepare('UPDATE cluster_members SET cluster = ? WHERE clustering_id = ? AND head = 0 AND image_id = ?');
    for (const id of secondPart) move.run(next, clusteringId, id);
    return next;
  })();
}

export function discardCluster(db: Db, clusteringId: number, idx: number): void {
  db.transaction(() => {
    requireCluster(db, clusteringId, idx);
    record(db, clusteringId, 'discard', snapshot(db, clusteringId, [idx], []));
    db.prepare("UPDATE clusters SET state = 'discarded' WHERE clustering_id = ? AND idx = ?").run(clusteringId, idx);
  })();
}

/** Marks (or clears) images as outliers of their cluster: they keep no cluster label. */
export function markOutliers(db: Db, clusteringId: number, imageIds: number[], on: boolean): void {
  db.transaction(() => {
    record(db, clusteringId, on ? 'outliers' : 'inliers', snapshot(db, clusteringId, [], imageIds));
    const set = db.prepare('UPDATE cluster_members SET outlier = ? WHERE clustering_id = ? AND head = 0 AND image_id = ?');
    for (const id of imageIds) set.run(on ? 1 : 0, clusteringId, id);
    if (on) {
      const clear = db.prepare("DELETE FROM labels WHERE image_id = ? AND source = 'cluster'");
      for (const id of imageIds) clear.run(id);
    }
  })();
}

/** Reverts the newest edit of a clustering; returns its kind, or null when there is none. */
export function undoLastEdit(db: Db, clusteringId: number): string | null {
  return db.transaction(() => {
    const edit = db.prepare('SELECT id, kind, undo FROM cluster_edits WHERE clustering_id = ? ORDER BY id DESC LIMIT 1').get(clusteringId) as { id: number; kind: string; undo: string } | undefined;
    if (!edit) return null;
    const u = JSON.parse(edit.undo) as Omit<Snapshot, 'clusters'> & { clusters: (Omit<Snapshot['clusters'][number], 'centroid'> & { centroid: string | null })[] };
    const member = db.prepare('UPDATE cluster_members SET cluster = ?, outlier = ? WHERE clustering_id = ? AND head = 0 AND image_id = ?');
    for (const m of u.members) member.run(m.cluster, m.outlier, clusteringId, m.image_id);
    const cluster = db.prepare('UPDATE clusters SET name = ?, class_id = ?, state = ? WHERE clustering_id = ? AND idx = ?');
    for (const c of u.clusters) cluster.run(c.name, c.class_id, c.state, clusteringId, c.idx);
    const drop = db.prepare('DELETE FROM clusters WHERE clustering_id = ? AND idx = ?');
    for (const idx of u.created) drop.run(clusteringId, idx);
    if (edit.kind === 'name' || edit.kind === 'outliers') {
      const clear = db.prepare("DELETE FROM labels WHERE image_id = ? AND source = 'cluster'");
      const insert = db.prepare("INSERT INTO labels (image_id, class_id, source, confidence) VALUES (?, ?, 'cluster', ?)");
      for (const l of u.labels) {
        clear.run(l.image_id);
        if (l.class_id !== null) insert.run(l.image_id, l.class_id, l.confidence);
      }
    }
    // A class the naming created goes with it, unless something has used it since.
    if (u.createdClass !== undefined) {
      db.prepare('DELETE FROM classes WHERE id = ? AND NOT EXISTS (SELECT 1 FROM labels WHERE class_id = ?) AND NOT EXISTS (SELECT 1 FROM clusters WHERE class_id = ?)')
        .run(u.createdClass, u.createdClass, u.createdClass);
    }
    db.prepare('DELETE FROM cluster_edits WHERE id = ?').run(edit.id);
    return edit.kind;
  })();
}
