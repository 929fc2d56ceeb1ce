// The pretrained embedding the clustering and weak-supervision benchmarks start from: what a user
// gets from the defaults — SimCLR with the "fast CPU" preset (30 epochs) — cached in the bench
// project, else trained here (~10 min for Fashion-MNIST's 5,000 images on 2 cores).
import { embedRun } from '../../core/engine/embed.ts';
import { createTrainingRun } from '../../core/engine/jobs.ts';
import { findSslMethod } from '../../core/engine/methods.ts';
import { findPreset } from '../../core/engine/presets.ts';
import { trainRun } from '../../core/engine/trainer.ts';
import { latestEmbedding, listRuns, type RunRow } from '../../core/store/runs.ts';
import type { BenchSet } from './sets.ts';

export async function pretrainedRun(set: BenchSet, name: string): Promise<RunRow> {
  const { project } = set.host;
  const method = findSslMethod('simclr');
  const preset = findPreset(method, 'fast-cpu');
  // A cached run counts only if it was trained with the preset's epochs and learning rate.
  const learningRate = preset.settings.learningRate ?? method.defaults.learningRate;
  const matches = (config: { epochs?: number; learningRate?: number }) => config.epochs === preset.settings.epochs && config.learningRate === learningRate;
  let run = listRuns(project.db, set.datasetId).find((r) => r.method === 'simclr' && r.encoder && matches(r.config as { epochs?: number; learningRate?: number }));
  if (!run) {
    console.log(`${name}: no cached SimCLR run with the fast CPU preset; training one (${preset.settings.epochs} epochs)…`);
    const id = createTrainingRun(project, method, set.datasetId, { ...preset.settings, knnEvery: 0, hyperparameters: preset.hyperparameters });
    await trainRun(project, id, { signal: new AbortController().signal, progress: () => {} });
    run = listRuns(project.db, set.datasetId).find((r) => r.id === id)!;
  }
  if (!latestEmbedding(project.db, run.id)) await embedRun(project, run.id);
  return run;
}
