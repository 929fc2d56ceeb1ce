// Embedding extraction (every usable image of the dataset through a run's encoder, stored as a raw
// row-major Float32 matrix beside a JSON list of image ids) and the kNN evaluation built on it.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LoupeError } from '../errors.ts';
import type { Project } from '../store/project.ts';
import { addEmbedding, getRun, latestEmbedding, type EmbeddingRow } from '../store/runs.ts';
import { activateBackend } from './backends/select.ts';
import { readWeights } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { CacheReader, ensureTrainingCache } from './data/cache.ts';
import { encodeRows } from './features.ts';
import { knnAccuracy } from './knn.ts';
import { loadLabels } from './labels.ts';
import { loadInto } from './model.ts';
import { Params } from './nn/params.ts';
import { createResNet, type Encoder } from './nn/resnet.ts';
import { Rng } from './rng.ts';
import type { EncoderMetadata } from './trainer.ts';

export interface LoadedEncoder {
  encoder: Encoder;
  metadata: EncoderMetadata;
  dispose(): void;
}

export function loadRunEncoder(project: Project, runId: number): LoadedEncoder {
  const run = getRun<TrainConfig>(project.db, runId);
  if (!run.encoder) {
    throw new LoupeError('invalid-input', `Run ${runId} has not finished training, so it has no encoder yet.`, {
      hint: 'Resume or finish the run first (loupe train), or pick a finished run.',
    });
  }
  const saved = readWeights<EncoderMetadata>(path.join(project.dir, run.encoder));
  const params = new Params();
  try {
    const encoder = createResNet(params, new Rng(0), saved.metadata.encoder);
    loadInto(params, saved.tensors);
    return { encoder, metadata: saved.metadata, dispose: () => params.dispose() };
  } catch (err) {
    params.dispose();
    throw new LoupeError('invalid-input', `The encoder of run ${runId} does not match its description: ${(err as Error).message}.`, { cause: err });
  } finally {
    tf.dispose([...saved.tensors.values()]);
  }
}

export interface EmbedResult {
  embeddingId: number;
  file: string;
  count: number;
  dim: number;
}

export async function embedRun(project: Project, runId: number,
  io: { signal?: AbortSignal; progress?: (done: number, total: number | null, metrics?: Record<string, string | number>) => void } = {}): Promise<EmbedResult> {
  const run = getRun<TrainConfig>(project.db, runId);
  await activateBackend(run.config.backend);
  const loaded = loadRunEncoder(project, runId);
  const cache = await ensureTrainingCache(project, run.datasetId, loaded.metadata.encoder.inputSize, {
    signal: io.signal, onProgress: (p) => io.progress?.(0, null, { phase: 'Preparing images', prepared: p.done, toPrepare: p.total }),
  });
  const reader = new CacheReader({ ...cache, mean: loaded.metadata.normalization.mean, std: loaded.metadata.normalization.std });
  try {
    const rows = Array.from({ length: reader.length }, (_, i) => i);
    const features = await encodeRows(loaded.encoder, reader, rows, {
      signal: io.signal, onBatch: (done) => io.progress?.(done, rows.length, { phase: 'Embedding' }),
    });
    const dim = loaded.encoder.featureDim;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const rel = path.join('embeddings', `run${runId}-${stamp}.f32`);
    const file = path.join(project.dir, rel);
    fs.writeFileSync(`${file}.tmp`, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
    fs.writeFileSync(file.replace(/\.f32$/, '.json'), JSON.stringify({ runId, dim, count: rows.length, imageIds: cache.imageIds, dtype: 'float32', order: 'row-major' }));
    fs.renameSync(`${file}.tmp`, file);
    const embeddingId = addEmbedding(project.db, { runId, datasetId: run.datasetId, file: rel, dim, count: rows.length, dataHash: cache.dataHash });
    return { embeddingId, file: rel, count: rows.length, dim };
  } finally {
    reader.close();
    loaded.dispose();
  }
}

export interface Embeddings {
  row: EmbeddingRow;
  imageIds: number[];
  features: Float32Array;
}

/** The image ids of an embedding's rows, from its sidecar (without reading the matrix). */
export function embeddingImageIds(project: Project, row: EmbeddingRow): number[] {
  const file = path.join(project.dir, row.file);
  return (JSON.parse(fs.readFileSync(file.replace(/\.f32$/, '.json'), 'utf8')) as { imageIds: number[] }).imageIds;
}

export function readEmbeddings(project: Project, row: EmbeddingRow): Embeddings {
  const buf = fs.readFileSync(path.join(project.dir, row.file));
  return { row, imageIds: embeddingImageIds(project, row), features: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) };
}

export interface KnnReport {
  runId: number;
  accuracy: number;
  queries: number;
  classes: number;
  protocol: 'split' | 'leave-one-out';
  k: number;
}

/** kNN accuracy of a run's embeddings against the dataset's labels (embedding first if needed). */
export async function evaluateKnnForRun(project: Project, runId: number, options: { k?: number; signal?: AbortSignal } = {}): Promise<KnnReport> {
  let row = latestEmbedding(project.db, runId);
  const run = getRun(project.db, runId);
  if (!row || (run.dataHash && row.dataHash !== run.dataHash)) {
    await embedRun(project, runId, options.signal ? { signal: options.signal } : {});
    row = latestEmbedding(project.db, runId)!;
  }
  const emb = readEmbeddings(project, row);
  const labels = loadLabels(project.db, run.datasetId);
  if (labels.classNames.length < 2) {
    throw new LoupeError('invalid-input', 'kNN accuracy needs labelled images of at least two classes.', {
      hint: 'Label some images (or import with folder labels), then evaluate again.',
    });
  }
  const classOf = Int32Array.from(emb.imageIds, (id) => labels.byImage.get(id) ?? -1);
  const train: number[] = [], held: number[] = [];
  emb.imageIds.forEach((id, i) => {
    const s = labels.split.get(id);
    if (s === 'train') train.push(i);
    else if (s === 'val' || s === 'test') held.push(i);
  });
  const k = options.k ?? 20;
  const useSplit = train.length > 0 && held.length > 0;
  const result = await knnAccuracy(emb.features, emb.row.dim, classOf, useSplit ? { k, bank: train, queries: held } : { k });
  return { runId, accuracy: result.accuracy, queries: result.queries, classes: result.classes, protocol: useSplit ? 'split' : 'leave-one-out', k };
}
