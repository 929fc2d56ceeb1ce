import type { AppInfo, DatasetRow, JobInfo } from '../../../core/api/contract.ts';
import { call, HostError, onEvent } from './api.svelte.ts';

/** App-wide state, kept in sync with the host by its events. */
export const app = $state({
  info: null as AppInfo | null,
  datasets: [] as DatasetRow[],
  jobs: [] as JobInfo[],
  selectedDataset: null as number | null,
  /** Bumped whenever images may have changed, so the grid refetches. */
  revision: 0,
  error: null as { message: string; hint?: string } | null,
});

export function showError(err: unknown): void {
  app.error = err instanceof HostError ? { message: err.message, ...(err.hint ? { hint: err.hint } : {}) } : { message: String((err as Error)?.message ?? err) };
}

export async function refreshDatasets(): Promise<void> {
  app.datasets = await call('datasets.list', {});
  if (app.selectedDataset === null || !app.datasets.some((d) => d.id === app.selectedDataset)) app.selectedDataset = app.datasets[0]?.id ?? null;
  app.revision++;
}

export async function refreshAll(): Promise<void> {
  app.info = await call('app.info', {});
  app.jobs = await call('jobs.list', {});
  await refreshDatasets();
}

/** After the user changed labels or tags: refetch the grid now, and the dataset counts soon. */
export function dataChanged(): void {
  app.revision++;
  scheduleDatasetsRefresh();
}

let datasetsTimer: ReturnType<typeof setTimeout> | undefined;
onEvent((event) => {
  if (event.type === 'job') {
    const i = app.jobs.findIndex((j) => j.id === event.job.id);
    if (i >= 0) app.jobs[i] = event.job;
    else app.jobs = [event.job, ...app.jobs];
    if (['import', 'render-thumbnails', 'redraw-stale-thumbnails'].includes(event.job.kind)) {
      // Finished work shows at once; progress in between is coalesced.
      if (['done', 'failed', 'cancelled', 'paused'].includes(event.job.state)) void refreshDatasets().catch(showError);
      else scheduleDatasetsRefresh();
    }
  } else if (event.type === 'datasets-changed') scheduleDatasetsRefresh();
  else if (event.type === 'project-changed') void refreshAll().catch(showError);
});

/** Coalesces bursts of progress events into at most one refresh a second. */
function scheduleDatasetsRefresh(): void {
  if (datasetsTimer) return;
  datasetsTimer = setTimeout(() => {
    datasetsTimer = undefined;
    void refreshDatasets().catch(showError);
  }, 1000);
}
