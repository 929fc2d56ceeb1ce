// Persistence of IWS sessions: the candidate LFs (fires as packed uint32 rows of the session's
// embedding) and the expert's answers, so a session survives restarts and its answers can be undone.
import type { Db } from '../store/database.ts';
import type { Lf } from './candidates.ts';
import type { Answer } from './iws.ts';
import type { ClassBalance } from './propagate.ts';

export interface SessionClass {
  name: string;
  /** Image ids the user gave as examples of the class. */
  examples: number[];
}

export interface SessionRow {
  id: number;
  datasetId: number;
  embeddingId: number;
  classes: SessionClass[];
  /** What the session was prepared with (the run; the person's word on class sizes) and the rough class shares last applied with. */
  params: Record<string, unknown>;
  result: unknown;
  createdAt: string;
}

const blob = (a: Uint32Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const u32 = (b: Buffer) => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));

/** `novelty`: per LF, what ruleNovelty says of it (acquisition.ts). */
export function saveSession(db: Db, s: { datasetId: number; embeddingId: number; classes: SessionClass[]; params: Record<string, unknown> }, lfs: Lf[], novelty?: ArrayLike<number>): number {
  return db.transaction(() => {
    const id = Number(db.prepare('INSERT INTO iws_sessions (dataset_id, embedding_id, classes, params) VALUES (?, ?, ?, ?)')
      .run(s.datasetId, s.embeddingId, JSON.stringify(s.classes), JSON.stringify(s.params)).lastInsertRowid);
    const insert = db.prepare('INSERT INTO iws_lfs (session_id, idx, key, family, grp, description, class_index, fires, margin, novelty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    lfs.forEach((l, i) => insert.run(id, i, l.key, l.family, l.group ?? null, l.description, l.classIndex, blob(l.fires), l.margin ? blob(l.margin) : null, novelty?.[i] ?? null));
    return id;
  })();
}

interface RawSession { id: number; dataset_id: number; embedding_id: number; classes: string; params: string | null; result: string | null; created_at: string }
const parse = (r: RawSession): SessionRow => ({
  id: r.id, datasetId: r.dataset_id, embeddingId: r.embedding_id, classes: JSON.parse(r.classes), params: r.params ? JSON.parse(r.params) : {},
  result: r.result ? JSON.parse(r.result) : null, createdAt: r.created_at,
});

/** The class sizes a session was prepared with; sessions from before the question: not sure. */
export function sessionClassBalance(row: SessionRow): ClassBalance {
  const b = row.params.classBalance;
  return b === 'equal' || b === 'unequal' ? b : 'unknown';
}

/** The rough class shares (percent, null: not given) last applied with, one per session class; all null before any were given. */
export function sessionClassShares(row: SessionRow): (number | null)[] {
  const given = row.params.classShares;
  const valid = Array.isArray(given) && given.length === row.classes.length && given.every((p) => p === null || typeof p === 'number');
  return valid ? (given as (number | null)[]) : row.classes.map(() => null);
}

/**
 * Whether the label model also uses the rules the ensemble predicts good (finalLfs'
 * 'validated+predicted'). A session prepared since 2026-12-04 starts with it on (prepare saves
 * usePredicted: true); older ones, whose ensemble lacked the novelty prior, kept it off unless
 * the person turned it on (iws.options).
 */
export function sessionUsesPredicted(row: SessionRow): boolean {
  return row.params.usePredicted === true;
}

/** The classes' shares by the model of the person's labels when the session was prepared (modelShares); null for older sessions. */
export function sessionModelShares(row: SessionRow): number[] | null {
  const v = row.params.modelShares;
  return Array.isArray(v) && v.length === row.classes.length && v.every((x) => typeof x === 'number' && x >= 0 && x <= 1) ? (v as number[]) : null;
}

export function getSession(db: Db, id: number): SessionRow | undefined {
  const r = db.prepare('SELECT * FROM iws_sessions WHERE id = ?').get(id) as RawSession | undefined;
  return r && parse(r);
}

export function latestSession(db: Db, datasetId: number): SessionRow | undefined {
  const r = db.prepare('SELECT * FROM iws_sessions WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as RawSession | undefined;
  return r && parse(r);
}

export function sessionLfs(db: Db, id: number, rows: number): Lf[] {
  const raw = db.prepare('SELECT idx, key, family, grp, description, class_index AS classIndex, fires, margin FROM iws_lfs WHERE session_id = ? ORDER BY idx').all(id) as
    { key: string; family: string; grp: string | null; description: string; classIndex: number; fires: Buffer; margin: Buffer | null }[];
  return raw.map((r) => {
    const fires = u32(r.fires);
    return {
      key: r.key, family: r.family, generator: r.key.split('/')[0]!, description: r.description, classIndex: r.classIndex, fires,
      coverage: fires.length / rows, ...(r.margin ? { margin: f32(r.margin) } : {}), ...(r.grp ? { group: r.grp } : {}),
    };
  });
}

/** Each LF's novelty, in LF order; null for sessions prepared before it was kept (migration 8). */
export function sessionNovelty(db: Db, id: number): Float32Array | null {
  const raw = db.prepare('SELECT novelty FROM iws_lfs WHERE session_id = ? ORDER BY idx').all(id) as { novelty: number | null }[];
  return raw.length && raw.every((r) => r.novelty !== null) ? Float32Array.from(raw, (r) => r.novelty!) : null;
}

export function sessionAnswers(db: Db, id: number): Map<number, Answer> {
  const rows = db.prepare('SELECT lf_idx AS lf, answer FROM iws_answers WHERE session_id = ? ORDER BY id').all(id) as { lf: number; answer: Answer }[];
  return new Map(rows.map((r) => [r.lf, r.answer]));
}

export function saveAnswer(db: Db, id: number, lf: number, answer: Answer): void {
  db.prepare('INSERT INTO iws_answers (session_id, lf_idx, answer) VALUES (?, ?, ?) ON CONFLICT (session_id, lf_idx) DO UPDATE SET answer = excluded.answer, id = (SELECT MAX(id) + 1 FROM iws_answers)')
    .run(id, lf, answer);
}

/** Removes the newest answer; returns its LF index (or null when there is none). */
export function undoAnswer(db: Db, id: number): number | null {
  const last = db.prepare('SELECT id, lf_idx AS lf FROM iws_answers WHERE session_id = ? ORDER BY id DESC LIMIT 1').get(id) as { id: number; lf: number } | undefined;
  if (!last) return null;
  db.prepare('DELETE FROM iws_answers WHERE id = ?').run(last.id);
  return last.lf;
}

export function saveParams(db: Db, id: number, params: Record<string, unknown>): void {
  db.prepare('UPDATE iws_sessions SET params = ? WHERE id = ?').run(JSON.stringify(params), id);
}

export function saveResult(db: Db, id: number, result: unknown): void {
  db.prepare('UPDATE iws_sessions SET result = ? WHERE id = ?').run(JSON.stringify(result), id);
}
