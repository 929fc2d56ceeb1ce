// `loupe export <project> embeddings|labels|clusters|encoder [--format F] <out> [--json]`: writes
// one export through the same exporters (built-in and user plugins) the app uses.
import { parseArgs } from 'node:util';
import { runExport } from '../export/run.ts';
import { LoupeError } from '../errors.ts';
import { Host } from '../host/host.ts';
import { userDataDir } from '../paths.ts';
import { exportSubjects, type ExportSubject } from '../plugins/contract.ts';
import { findDatasetByName, listDatasets } from '../store/datasets.ts';
import { getRun } from '../store/runs.ts';

export async function runExportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      json: { type: 'boolean' }, format: { type: 'string' }, dataset: { type: 'string' }, run: { type: 'string' }, clustering: { type: 'string' },
      overwrite: { type: 'boolean' }, mode: { type: 'string' }, option: { type: 'string', multiple: true }, list: { type: 'boolean' },
    },
  });
  const [projectDir, subject, out] = positionals;
  const host = new Host({ projectDir: projectDir ?? '.', userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    await host.loadUserPlugins();
    if (values.list || !subject) {
      const rows = host.exporters.map((e) => ({ subject: e.subject, format: e.format, output: e.output, description: e.description }));
      console.log(values.json ? JSON.stringify(rows) : rows.map((r) => `${r.subject.padEnd(11)} ${r.format.padEnd(8)} ${r.output.padEnd(6)} ${r.description}`).join('\n'));
      return 0;
    }
    if (!exportSubjects.includes(subject as ExportSubject)) {
      throw new LoupeError('invalid-input', `Cannot export "${subject}".`, { hint: `Export one of: ${exportSubjects.join(', ')}.` });
    }
    if (!out) throw new LoupeError('invalid-input', 'Missing the output path.', { hint: `loupe export ${projectDir} ${subject} --format … <file or folder>` });
    const int = (v: string | undefined, what: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new LoupeError('invalid-input', `--${what} must be a run/clustering number.`);
      return n;
    };
    const runId = int(values.run, 'run');
    const db = host.project.db;
    let datasetId: number;
    if (values.dataset) {
      const d = findDatasetByName(db, values.dataset);
      if (!d) throw new LoupeError('not-found', `No dataset named "${values.dataset}".`, { hint: `Datasets: ${listDatasets(db).map((x) => x.name).join(', ')}.` });
      datasetId = d.id;
    } else if (runId !== undefined) {
      datasetId = getRun(db, runId).datasetId;
    } else {
      const all = listDatasets(db);
      if (all.length === 0) throw new LoupeError('not-found', 'This project has no dataset yet.', { hint: 'Import a folder first (loupe import).' });
      if (all.length > 1) throw new LoupeError('invalid-input', 'This project has several datasets.', { hint: `Pick one with --dataset: ${all.map((x) => x.name).join(', ')}.` });
      datasetId = all[0]!.id;
    }
    const options: Record<string, string> = {};
    if (values.mode) options.mode = values.mode;
    for (const kv of values.option ?? []) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new LoupeError('invalid-input', `--option needs key=value, got "${kv}".`);
      options[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const json = !!values.json;
    const result = await runExport(host.project, {
      datasetId, subject: subject as ExportSubject, format: values.format, out, overwrite: !!values.overwrite, options,
      ...(runId !== undefined ? { runId } : {}), ...(values.clustering ? { clusteringId: int(values.clustering, 'clustering')! } : {}),
    }, { exporters: host.exporters, progress: (done, total) => { if (!json && process.stderr.isTTY) process.stderr.write(`\rExporting ${done}/${total}   `); } });
    if (!json && process.stderr.isTTY) process.stderr.write('\n');
    if (json) console.log(JSON.stringify(result));
    else console.log(`Exported ${result.count} ${subject === 'encoder' ? 'tensors' : 'rows'} (${result.subject}, ${result.format}) to:\n${result.files.map((f) => `  ${f}`).join('\n')}`);
    return 0;
  } finally {
    host.close();
  }
}
