import { z } from 'zod';
import type { SslToolkit } from '../engine/toolkit.ts';

/**
 * The one contract every plugin implements, built-in or third-party: a manifest plus
 * `activate(ctx)` returning what its kind provides. Bump API_VERSION on breaking changes.
 */
export const API_VERSION = 1;

export const pluginKinds = ['ssl-method', 'lf-generator', 'importer', 'exporter', 'encoder'] as const;
export type PluginKind = (typeof pluginKinds)[number];

export const manifestSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  kind: z.enum(pluginKinds),
  version: z.string().min(1),
  apiVersion: z.number().int(),
  name: z.string().min(1),
  description: z.string().default(''),
  citation: z.string().optional(),
});
export type PluginManifest = z.infer<typeof manifestSchema>;

export interface PluginContext {
  apiVersion: number;
  log(message: string): void;
  /** Loupe's TensorFlow.js (use it rather than your own copy: it carries the selected backend). */
  tf: typeof import('@tensorflow/tfjs');
  /** Building blocks for SSL methods: layers, views, losses, teacher helpers (docs/PLUGINS.md). */
  ssl: SslToolkit;
}

export interface Plugin<T = unknown> {
  manifest: PluginManifest;
  activate(ctx: PluginContext): T;
  dispose?(): void;
}

/** One file an importer proposes; `label` is the class it carries, if the source has one. */
export interface ImportEntry {
  abs: string;
  rel: string;
  size: number;
  mtimeMs: number;
  label?: string;
  /** The split the source puts the file in (e.g. a train/ or test/ folder); it keeps it in Loupe. */
  split?: 'train' | 'val' | 'test';
}

export type LabelSpec = { kind: 'none' } | { kind: 'folders' } | { kind: 'csv'; file: string };

export interface ImportListing {
  /** Files to decode and import. */
  images: ImportEntry[];
  /** Files in a known image format Loupe cannot read: recorded as failed, with the reason. */
  unsupported: ImportEntry[];
  /** Files passed over as not images (documents, hidden files). */
  ignored: number;
  /** Sub-folders that could not be read, with the reason. */
  unreadable: { path: string; reason: string }[];
}

export interface Importer {
  /** Lists what `source` holds; must not decode images (the engine does that, in parallel). */
  list(source: string, labels: LabelSpec, signal: AbortSignal): Promise<ImportListing>;
}

/** What can be exported. */
export const exportSubjects = ['embeddings', 'labels', 'clusters', 'encoder', 'lf-votes'] as const;
export type ExportSubject = (typeof exportSubjects)[number];

export interface ExportImage {
  id: number;
  /** Absolute path of the original file. */
  path: string;
  /** Path relative to the dataset's folder. */
  relPath: string;
  width: number | null;
  height: number | null;
  split: 'train' | 'val' | 'test' | null;
}

export interface ExportLabel extends ExportImage {
  label: string;
  confidence: number;
  source: 'human' | 'import' | 'cluster' | 'label-model' | 'model';
}

export interface ExportClusterMember extends ExportImage {
  head: number;
  cluster: number;
  /** The name the expert gave the cluster, if any. */
  clusterName: string | null;
  confidence: number;
  outlier: boolean;
}

/** Read access to a project's data for exporters; each call reads the store when made. */
export interface ExportSources {
  dataset: { id: number; name: string; root: string | null };
  /** Usable (decoded, not duplicate) images. */
  images(): ExportImage[];
  /** One label per labelled image: human before import, cluster, label model, then model; the most confident within a source. */
  labels(): ExportLabel[];
  classNames(): string[];
  /** The latest embedding of the chosen (or latest finished) run. */
  embedding(): { runId: number; imageIds: number[]; dim: number; features: Float32Array };
  /** The encoder of the chosen (or latest finished) run, as plain arrays. */
  encoder(): {
    runId: number; method: string; config: import('../engine/nn/resnet.ts').EncoderConfig;
    tensors: Map<string, { shape: number[]; values: Float32Array }>; normalization: { mean: number[]; std: number[] };
  };
  /** The chosen (or latest) clustering's memberships, every head. */
  clustering(): { id: number; algo: string; k: number; heads: number; members: ExportClusterMember[] };
  /**
   * The latest weak-supervision session's LF votes: one row per embedded image, one column per LF
   * (the class index it votes, −1 where it abstains); `which: 'used'` keeps the LFs the label model
   * uses (accepted + predicted useful), `'all'` every candidate.
   */
  lfVotes(which: 'used' | 'all'): {
    sessionId: number; imageIds: number[]; classNames: string[]; votes: Int8Array;
    lfs: { idx: number; key: string; description: string; className: string; coverage: number; answer: string | null }[];
  };
}

/** Where an exporter writes (already validated; see core/export/output.ts). */
export interface ExportTarget {
  /** The main file of a file export. */
  file(): string;
  /** A sidecar file declared in `sidecars`. */
  sidecar(ext: string): string;
  /** A path inside a folder export; segments from the data are made safe and kept inside. */
  join(...segments: string[]): string;
}

export interface ExportSummary {
  /** How many items (images, rows, tensors) were written. */
  count: number;
  details?: Record<string, unknown>;
}

export interface Exporter {
  subject: ExportSubject;
  /** Short format id used on the command line: "npy", "csv", "folders", "coco", "onnx", "tfjs"... */
  format: string;
  description: string;
  output: 'file' | 'folder';
  /** Suggested file extension of a file export, with the dot. */
  extension?: string;
  sidecars?: string[];
  /** Extra switches, e.g. { mode: 'copy' | 'symlink' } for image folders. */
  options?: { key: string; help: string; choices?: string[]; default?: string }[];
  write(sources: ExportSources, target: ExportTarget, options: Record<string, string>, io: { signal: AbortSignal; progress(done: number, total: number): void }): Promise<ExportSummary>;
}

/**
 * What an lf-generator sees: the embedding of a dataset (rows L2-normalised), the classes the
 * user defined with their example rows, and the clusterings of the embedding.
 */
export interface LfContext {
  /** Row-major [rows, dim] features, each row of unit length. */
  features: Float32Array;
  dim: number;
  /** Image id of each row. */
  imageIds: number[];
  classes: { index: number; name: string; /** rows the user marked as examples of the class */ examples: number[] }[];
  /** The user's clusterings (stored ids), then k-means ones computed for the session (negative ids). */
  clusterings: { id: number; k: number; /** cluster of each row (−1 when unassigned) */ assignment: Int32Array; /** expert-given names by cluster index */ names: (string | null)[] }[];
  /** A seeded uniform random number in [0, 1): generators must be reproducible. */
  random(): number;
  /**
   * What the person said of their classes' sizes: 'equal' when about equally common. Threshold
   * generators cut wider rules unless they are equal (core/weak/geometry.ts, coverageLevels).
   */
  classSizes?: 'equal' | 'unequal' | 'unknown';
}

/**
 * One candidate labeling function: it votes for `classIndex` on the rows in `fires` and abstains
 * everywhere else (unipolar, as in interactive weak supervision).
 */
export interface LfCandidate {
  /** Stable and unique within its generator, e.g. "proto:2:r0.63". */
  key: string;
  /** What a person reads on the LF card: "Close to the examples of ‘mitosis’ (cosine ≥ 0.63)". */
  description: string;
  classIndex: number;
  /** Rows where the LF fires, ascending. */
  fires: Uint32Array;
  /** Optional per-row margin (same order as fires): small = near the LF's boundary. */
  margin?: Float32Array;
  /**
   * Optional: LFs sharing a group are cuts of one score at several thresholds (nested). The label
   * model treats a group as one source rather than as independent voters.
   */
  group?: string;
}

export interface LfGenerator {
  /** A short family name shown on cards ("prototype", "direction"...). */
  family: string;
  generate(ctx: LfContext): LfCandidate[];
}
