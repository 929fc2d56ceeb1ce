// Runs one export: finds the exporter for (subject, format), stages its output (output.ts), and
// moves it into place only when it completed. Used by the CLI, the host API and plugin tests.
import { LoupeError, asLoupeError } from '../errors.ts';
import type { ExportSubject, Exporter, ExportSummary, Plugin } from '../plugins/contract.ts';
import { builtinExporterPlugins, pluginContext } from '../plugins/registry.ts';
import type { Project } from '../store/project.ts';
import { StagedOutput } from './output.ts';
import { exportSources, type SourceChoice } from './sources.ts';

export function exportersFrom(plugins: Plugin[] = []): Exporter[] {
  return [...builtinExporterPlugins, ...plugins.filter((p) => p.manifest.kind === 'exporter')]
    .map((p) => p.activate(pluginContext(p.manifest.id)) as Exporter);
}

export function findExporter(exporters: Exporter[], subject: ExportSubject, format: string | undefined): Exporter {
  const forSubject = exporters.filter((e) => e.subject === subject);
  const found = format ? forSubject.find((e) => e.format === format) : forSubject[0];
  if (!found) {
    throw new LoupeError('invalid-input', format ? `There is no "${format}" export for ${subject}.` : `Nothing can export ${subject}.`, {
      hint: `Formats for ${subject}: ${forSubject.map((e) => e.format).join(', ') || 'none'}.`,
    });
  }
  return found;
}

export interface ExportRequest extends SourceChoice {
  subject: ExportSubject;
  format?: string;
  out: string;
  overwrite?: boolean;
  options?: Record<string, string>;
}

export interface ExportResult extends ExportSummary {
  subject: ExportSubject;
  format: string;
  files: string[];
}

export async function runExport(project: Project, request: ExportRequest, io: { signal?: AbortSignal; progress?: (done: number, total: number) => void; exporters?: Exporter[] } = {}): Promise<ExportResult> {
  const exporter = findExporter(io.exporters ?? exportersFrom(), request.subject, request.format);
  const options: Record<string, string> = {};
  for (const o of exporter.options ?? []) if (o.default !== undefined) options[o.key] = o.default;
  for (const [key, value] of Object.entries(request.options ?? {})) {
    const spec = exporter.options?.find((o) => o.key === key);
    if (!spec) throw new LoupeError('invalid-input', `The ${exporter.format} export has no option "${key}".`);
    if (spec.choices && !spec.choices.includes(value)) throw new LoupeError('invalid-input', `${key} must be one of ${spec.choices.join(', ')}.`);
    options[key] = value;
  }
  const sources = exportSources(project, request);
  const staged = new StagedOutput(request.out, { kind: exporter.output, sidecars: exporter.sidecars, overwrite: request.overwrite });
  try {
    const summary = await exporter.write(sources, staged, options, { signal: io.signal ?? new AbortController().signal, progress: io.progress ?? (() => {}) });
    if (io.signal?.aborted) throw new LoupeError('cancelled', 'The export was cancelled; nothing was written.');
    const files = staged.commit({ subject: exporter.subject, format: exporter.format, dataset: sources.dataset.name, count: summary.count });
    return { ...summary, subject: exporter.subject, format: exporter.format, files };
  } catch (err) {
    staged.abort();
    throw asLoupeError(err, project.dir);
  }
}
