/**
 * The host API: one typed contract between the UI and the host, whatever carries it (Electron
 * IPC or HTTP + WebSocket). Inputs are validated here, at the boundary; the host trusts them after.
 */
import { z } from 'zod';
import type { ClusteringRow, ClusterSummary, MemberPage } from '../cluster/store.ts';
import type { JobInfo } from '../jobs/runner.ts';
import type { Suggestion, Suggestions } from '../weak/active.ts';
import type { IwsCard, IwsResults, IwsStatus } from '../weak/session.ts';
import type { DatasetRow } from '../store/datasets.ts';
import type { ImageDetail, ImageSummary } from '../store/images.ts';
import type { SplitSummary } from '../store/splits.ts';

const id = z.number().int().positive();
/** The person's word on their classes' sizes (core/weak/propagate.ts, ClassBalance). */
const classBalance = z.enum(['equal', 'unequal', 'unknown']);
/** The person's rough share of the images per class, in percent; null where not known (resolveClassShares). */
const classShares = z.array(z.number().gt(0).max(100).nullable()).max(10_000);
const labelSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('folders') }),
  z.object({ kind: z.literal('csv'), file: z.string().min(1) }),
]);
const channel = z.number().int().min(0).max(255).nullable();

export const inputs = {
  'app.info': z.object({}),
  'project.open': z.object({ path: z.string().min(1), create: z.boolean().default(false) }),
  'datasets.list': z.object({}),
  'datasets.rename': z.object({ id, name: z.string().trim().min(1).max(200) }),
  'datasets.delete': z.object({ id }),
  'datasets.setDisplay': z.object({
    id,
    channelMap: z.tuple([channel, channel, channel]).optional(),
    percentiles: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]).optional(),
  }),
  /** Shares are fractions (0.1 = 10%); images with a split keep it unless `reshuffle`. */
  'datasets.split': z.object({ id, val: z.number().min(0).max(0.5), test: z.number().min(0).max(0.5), seed: z.number().int().min(0).max(2 ** 31 - 1).default(0), reshuffle: z.boolean().default(false), groupBy: z.enum(['none', 'folder']).default('none') }),
  'datasets.splits': z.object({ id }),
  'datasets.clearSplits': z.object({ id }),
  'images.query': z.object({
    datasetId: id,
    offset: z.number().int().min(0),
    limit: z.number().int().min(1).max(1000),
    status: z.enum(['all', 'ok', 'duplicate', 'failed']).default('all'),
    classId: z.union([id, z.literal('unlabeled')]).optional(),
    tag: z.string().max(200).optional(),
    split: z.enum(['train', 'val', 'test', 'none']).optional(),
    search: z.string().max(500).optional(),
    sort: z.enum(['name', 'imported', 'size', 'width', 'height']).default('name'),
    desc: z.boolean().default(false),
    /** The total is needed once per view (page 0); scrolling pages skip the count. */
    count: z.boolean().default(true),
  }),
  'images.get': z.object({ id }),
  'classes.list': z.object({ datasetId: id }),
  'labels.set': z.object({ imageIds: z.array(id).min(1).max(100_000), className: z.string().trim().min(1).max(200).nullable() }),
  'tags.list': z.object({}),
  'tags.set': z.object({ imageIds: z.array(id).min(1).max(100_000), tag: z.string().trim().min(1).max(100), on: z.boolean() }),
  'import.start': z.object({
    folder: z.string().min(1),
    datasetId: id.optional(),
    datasetName: z.string().trim().min(1).max(200).optional(),
    labels: labelSpec.default({ kind: 'none' }),
    /** Importer plugin id; the built-in folder importer by default. */
    importer: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).optional(),
  }),
  'demo.create': z.object({}),
  'jobs.list': z.object({}),
  'jobs.cancel': z.object({ id }),
  'jobs.pause': z.object({ id }),
  'jobs.resume': z.object({ id }),
  'fs.browse': z.object({ path: z.string().optional() }),
  'train.options': z.object({}),
  'train.start': z.object({
    datasetId: id,
    method: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    epochs: z.number().int().min(1).max(10_000).optional(),
    batchSize: z.number().int().min(2).max(4096).optional(),
    imageSize: z.number().int().min(16).max(512).optional(),
    width: z.number().min(0.125).max(2).optional(),
    learningRate: z.number().positive().max(10).optional(),
    backend: z.enum(['webgpu', 'tensorflow', 'native', 'wasm', 'cpu']).optional(),
    hyperparameters: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
    /** A finished run of the same dataset whose encoder this run starts from (same width). */
    initFromRun: id.optional(),
  }),
  'train.runs': z.object({ datasetId: id }),
  'train.metrics': z.object({ runId: id, sinceStep: z.number().int().min(-1).default(-1) }),
  'embed.start': z.object({ runId: id }),
  'cluster.start': z.object({ datasetId: id, runId: id.optional(), algo: z.enum(['kmeans', 'sk', 'sela']).default('sk'), k: z.number().int().min(2).max(5000), heads: z.number().int().min(1).max(10).default(3), sizes: z.enum(['equal', 'found']).default('equal') }),
  'cluster.list': z.object({ datasetId: id }),
  'cluster.clusters': z.object({ clusteringId: id }),
  'cluster.members': z.object({ clusteringId: id, idx: z.number().int().min(0), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(2000).default(200) }),
  'cluster.map': z.object({ clusteringId: id }),
  'cluster.neighbors': z.object({ clusteringId: id, imageId: id, k: z.number().int().min(1).max(200).default(24) }),
  'cluster.name': z.object({ clusteringId: id, idx: z.number().int().min(0), name: z.string().trim().min(1).max(200) }),
  'cluster.merge': z.object({ clusteringId: id, from: z.array(z.number().int().min(0)).min(1), into: z.number().int().min(0) }),
  'cluster.split': z.object({ clusteringId: id, idx: z.number().int().min(0) }),
  'cluster.discard': z.object({ clusteringId: id, idx: z.number().int().min(0) }),
  'cluster.outliers': z.object({ clusteringId: id, imageIds: z.array(id).min(1).max(100_000), on: z.boolean() }),
  'cluster.undo': z.object({ clusteringId: id }),
  'iws.prepare': z.object({ datasetId: id, runId: id.optional(), classBalance: classBalance.default('unknown') }),
  'iws.session': z.object({ datasetId: id }),
  'iws.card': z.object({ sessionId: id }),
  'iws.answer': z.object({ sessionId: id, lfIdx: z.number().int().min(0), answer: z.enum(['useful', 'likely', 'unlikely', 'not', 'unsure']) }),
  'iws.undo': z.object({ sessionId: id }),
  'iws.options': z.object({ sessionId: id, usePredicted: z.boolean() }),
  'iws.apply': z.object({ sessionId: id, selfTraining: z.number().int().min(0).max(5).default(0), classBalance: classBalance.optional(), classShares: classShares.optional() }),
  'active.suggest': z.object({ datasetId: id, count: z.number().int().min(1).max(100).default(10), exclude: z.array(id).max(1000).default([]), view: z.string().max(64).default('') }),
  'export.formats': z.object({}),
  'export.start': z.object({
    datasetId: id,
    subject: z.enum(['embeddings', 'labels', 'clusters', 'encoder', 'lf-votes']),
    format: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).optional(),
    /** Absolute path on this machine, chosen by the user (validated again by the exporter's staging). */
    out: z.string().trim().min(1).max(4096).refine((p) => /^(\/|[A-Za-z]:[\\/])/.test(p), 'must be an absolute path'),
    overwrite: z.boolean().default(false),
    options: z.record(z.string(), z.string()).default({}),
    runId: id.optional(),
    clusteringId: id.optional(),
  }),
} as const;

export type Method = keyof typeof inputs;
export type Input<M extends Method> = z.input<(typeof inputs)[M]>;
export type ParsedInput<M extends Method> = z.output<(typeof inputs)[M]>;

export interface AppInfo {
  version: string;
  transport: 'electron' | 'http';
  project: { dir: string; name: string };
  recentProjects: string[];
  demoAvailable: boolean;
  canPickFolders: boolean;
  /** Third-party plugins loaded from the user data folder, and those skipped with the reason. */
  plugins: { id: string; name: string; kind: string; source: string }[];
  pluginProblems: { source: string; reason: string }[];
}

export interface BrowseResult {
  path: string;
  parent: string | null;
  dirs: string[];
  imageFiles: number;
}

export interface Outputs {
  'app.info': AppInfo;
  'project.open': AppInfo;
  'datasets.list': DatasetRow[];
  'datasets.rename': null;
  'datasets.delete': null;
  'datasets.setDisplay': { jobId: number | null };
  'datasets.split': { assigned: number; summary: SplitSummary };
  'datasets.splits': SplitSummary;
  'datasets.clearSplits': { cleared: number };
  'images.query': { total: number; items: ImageSummary[] };
  'images.get': ImageDetail;
  'classes.list': { id: number; name: string; color: string | null; count: number }[];
  'labels.set': { changed: number };
  'tags.list': string[];
  'tags.set': null;
  'import.start': { jobId: number; datasetId: number };
  'demo.create': { jobId: number; datasetId: number };
  'jobs.list': JobInfo[];
  'jobs.cancel': null;
  'jobs.pause': null;
  'jobs.resume': null;
  'fs.browse': BrowseResult;
  'train.options': TrainOptions;
  'train.start': { runId: number; jobId: number };
  'train.runs': RunSummary[];
  'train.metrics': Record<string, [number, number][]>;
  'embed.start': { jobId: number };
  'cluster.start': { jobId: number };
  'cluster.list': ClusteringInfo[];
  'cluster.clusters': ClusterInfo[];
  'cluster.members': MemberPage;
  'cluster.map': { imageIds: number[]; x: number[]; y: number[]; cluster: number[]; confidence: number[]; /** class index per image, −1 unlabelled */ label: number[]; classNames: string[] };
  'cluster.neighbors': { imageId: number; similarity: number }[];
  'cluster.name': { classId: number; labelled: number };
  'cluster.merge': null;
  'cluster.split': { idx: number };
  'cluster.discard': null;
  'cluster.outliers': null;
  'cluster.undo': { undone: string | null };
  'iws.prepare': { jobId: number };
  'iws.session': IwsStatus | null;
  'iws.card': IwsCard | null;
  'iws.answer': { card: IwsCard | null; status: IwsStatus };
  'iws.undo': { card: IwsCard | null; status: IwsStatus; undone: number | null };
  /** Whether the label model also uses the rules the ensemble predicts good; the new status. */
  'iws.options': IwsStatus;
  /** A job: its progress and cancel are the job's; the results are the session's `applied` when it is done. */
  'iws.apply': { jobId: number };
  'active.suggest': Suggestions;
  'export.formats': ExportFormat[];
  'export.start': { jobId: number };
}

/** One way to export a subject, as the Export dialog and `loupe export` offer it. */
export interface ExportFormat {
  subject: 'embeddings' | 'labels' | 'clusters' | 'encoder' | 'lf-votes';
  format: string;
  description: string;
  output: 'file' | 'folder';
  extension?: string;
  options: { key: string; help: string; choices?: string[]; default?: string }[];
}

/** What the Explore view lists: a clustering without its raw parameters, and its clusters. */
export type ClusteringInfo = Omit<ClusteringRow, 'params'>;
export type ClusterInfo = ClusterSummary;

/** What the Train form is generated from: methods with their declared hyper-parameters, and backends. */
export interface TrainOptions {
  methods: {
    id: string;
    name: string;
    summary: string;
    reference: string;
    hyperparameters: { key: string; label: string; type: 'number' | 'integer' | 'boolean' | 'choice'; default: number | boolean | string; min?: number; max?: number; choices?: string[]; help: string }[];
    defaults: { optimizer: string; learningRate: number; weightDecay: number; batchSize: number; epochs: number; warmupEpochs: number };
    presets: { id: string; label: string; help: string; settings: { epochs?: number; batchSize?: number; imageSize?: number; width?: number; learningRate?: number }; hyperparameters: Record<string, number | boolean | string> }[];
    /** Learns from the dataset's labels (fine-tuning): the form starts it from a finished run. */
    needsLabels: boolean;
  }[];
  settings: { key: string; label: string; help: string }[];
  defaults: { imageSize: number; width: number };
  backends: { name: string; available: boolean; automatic: boolean; device?: string; note?: string }[];
}

export interface RunSummary {
  id: number;
  name: string;
  method: string;
  datasetId: number;
  config: { epochs: number; batchSize: number; imageSize: number; width: number; learningRate: number; optimizer: string; backend?: string; hyperparameters: Record<string, number | boolean | string>; initFromRun?: number };
  backend: string | null;
  device: string | null;
  step: number;
  totalSteps: number | null;
  finished: boolean;
  createdAt: string;
  job: JobInfo | null;
  embeddings: number;
}

export type Output<M extends Method> = Outputs[M];

/** Events pushed from the host to every open UI. */
export type HostEvent =
  | { type: 'job'; job: JobInfo }
  | { type: 'datasets-changed' }
  | { type: 'project-changed'; project: { dir: string; name: string } };

export interface ApiError {
  code: string;
  message: string;
  hint?: string;
}

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.hasOwn(inputs, name);
}

export type { DatasetRow, ImageDetail, ImageSummary, IwsCard, IwsResults, IwsStatus, JobInfo, SplitSummary, Suggestion, Suggestions };
