import type { JobInfo } from '../jobs/runner.ts';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** One line of progress for a terminal: percent, counts, rate and ETA. */
export function progressLine(job: JobInfo): string {
  const pct = job.total ? Math.floor((100 * job.done) / job.total) : 0;
  const rate = job.rate !== undefined ? ` · ${job.rate.toFixed(1)}/s` : '';
  const eta = job.etaSeconds !== undefined ? ` · ETA ${formatDuration(job.etaSeconds)}` : '';
  const metrics = Object.entries(job.metrics).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${job.title}: ${pct}% (${job.done}/${job.total ?? '?'})${rate}${eta}${metrics ? ` · ${metrics}` : ''}`;
}
