// The data a weak-supervision session or simulation works on: a run's embedding of a dataset,
// with the true labels and splits when the dataset has them (for simulation and scoring).
import { embeddingFor } from '../cluster/run.ts';
import { readEmbeddings } from '../engine/embed.ts';
import { loadLabels } from '../engine/labels.ts';
import { Rng } from '../engine/rng.ts';
import { LoupeError } from '../errors.ts';
import type { Project } from '../store/project.ts';
import type { SimulationData } from './simulate.ts';

export async function simulationDataFor(project: Project, options: { runId?: number; seed?: number } = {}): Promise<SimulationData & { runId: number; datasetId: number }> {
  const row = await embeddingFor(project, options.runId);
  const emb = readEmbeddings(project, row);
  const labels = loadLabels(project.db, row.datasetId);
  if (labels.classNames.length < 2) {
    throw new LoupeError('invalid-input', 'Simulating an expert needs the true labels of at least two classes.', {
      hint: 'Import a labelled folder (sub-folders as classes) to measure weak supervision against the truth.',
    });
  }
  const truth = Int32Array.from(emb.imageIds, (id) => labels.byImage.get(id) ?? -1);
  const train: number[] = [], test: number[] = [];
  const rng = new Rng(options.seed ?? 0);
  const hasSplit = emb.imageIds.some((id) => labels.split.has(id));
  emb.imageIds.forEach((id, i) => {
    if (truth[i]! < 0) return;
    const s = labels.split.get(id);
    if (hasSplit ? s === 'train' : rng.uniform(0, 1) < 0.8) train.push(i);
    else if (hasSplit ? s === 'test' || s === 'val' : true) test.push(i);
  });
  return { features: emb.features, dim: row.dim, imageIds: emb.imageIds, truth, classNames: labels.classNames, train, test, runId: row.runId, datasetId: row.datasetId };
}
