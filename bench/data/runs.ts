// The pretrained embedding the clustering and weak-supervision benchmarks start from: the set's
// cached SimCLR run (from `bench -- methods`), else one trained here with the fast CPU preset.
import { embedRun } from '../../core/engine/embed.ts';
import { createTrainingRun } from '../../core/engine/jobs.ts';
import { findSslMethod } from '../../core/engine/methods.ts';
import { findPreset } from '../../core/engine/presets.ts';
import { trainRun } from '../../core/engine/trainer.ts';
import { latestEmbedding, listRuns, type RunRow } from '../../core/store/runs.ts';
import type { BenchSet } from './sets.ts';

export async function pretrainedRun(set: BenchSet, name: string): Promise<RunRow> {
  const { project } = set.host;
  let run = listRuns(project.db, set.datasetId).find((r) => r.method === 'simclr' && r.encoder);
  if (!run) {
    console.log(`${name}: no cached SimCLR run; training one (fast CPU preset, 5 epochs)…`);
    const preset = findPreset(findSslMethod('simclr'), 'fast-cpu');
    const id = createTrainingRun(project, findSslMethod('simclr'), set.datasetId, { ...preset.settings, epochs: 5, knnEvery: 0 });
    await trainRun(project, id, { signal: new AbortController().signal, progress: () => {} });
    run = listRuns(project.db, set.datasetId).find((r) => r.id === id)!;
  }
  if (!latestEmbedding(project.db, run.id)) await embedRun(project, run.id);
  return run;
}
