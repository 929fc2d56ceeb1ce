import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { asLoupeError, LoupeError } from '../errors.ts';
import { Host } from '../host/host.ts';
import type { ImportResult } from '../images/import.ts';
import type { JobInfo } from '../jobs/runner.ts';
import { defaultProjectDir, userDataDir } from '../paths.ts';
import type { LabelSpec } from '../plugins/contract.ts';
import { serve } from '../server/http.ts';
import { listDatasets } from '../store/datasets.ts';
import { Project } from '../store/project.ts';
import { VERSION } from '../version.ts';
import { progressLine } from './output.ts';
import { runCluster } from './cluster.ts';
import { runExportCommand } from './export.ts';
import { runPlugin } from './plugin.ts';
import { runSplit, splitUsage } from './split.ts';
import { runIws } from './iws.ts';
import { runBackends, runEmbed, runEval, runMethods, runRuns, runTrain } from './train.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const rendererDist = path.join(repoRoot, 'renderer', 'dist');

const usage = `Loupe ${VERSION} — make sense of your own image collections.

Usage:
  loupe start [project] [--no-open] [--port N]   open the app (Electron if installed, else in your browser)
  loupe init <project>                           create an empty project folder
  loupe import <project> <folder> [--labels file.csv | --labels-from-folders] [--dataset NAME] [--json]
  loupe info <project> [--json]                  datasets, image counts and jobs
  ${splitUsage}
                                                 training / validation / test splits, stratified by label
                                                 (--by-folder: each folder's images kept in one split)
                                                 (images with a split keep it unless --reshuffle; --show: the table)
  loupe serve <project> [--port N] [--no-open]   serve the UI on 127.0.0.1 only
  loupe train [project] [--method simclr] [--epochs N] [--batch B] [--size S] [--width W] [--lr X]
              [--backend webgpu|tensorflow|native|wasm|cpu] [--dataset NAME] [--hp|--set key=value]
              [--preset fast-cpu|balanced|quality-gpu] [--checkpoint-minutes M] [--knn-every EPOCHS] [--init-from RUN] [--new] [--json]
                                                 pretrain an encoder (resumes a paused run; Ctrl+C pauses)
  loupe embed [project] [--run R] [--json]       embed every image with a finished run's encoder
  loupe eval knn [project] [--run R] [--k 20] [--json]   kNN accuracy of a run on the labelled images
  loupe runs [project] [--json]                  training runs
  loupe cluster [project] [--algo sk|sela|kmeans] [--k K] [--heads H] [--sizes equal|found] [--run R] [--json]
                                                 cluster a run's embeddings; NMI/ARI/accuracy when labels exist
  loupe export <project> embeddings|labels|clusters|encoder|lf-votes [--format F] <out> [--dataset NAME] [--run R]
              [--clustering C] [--mode copy|symlink] [--overwrite] [--json]
                                                 embeddings: npy · labels: csv, folders, coco · clusters: csv
                                                 encoder: onnx, tfjs · lf-votes: npy (loupe export <project> --list: all formats)
  loupe label export <project> --format csv|folders|coco <out>   the labels (human first, then rules, then model)
  loupe iws simulate <project> [--queries 50] [--noise p] [--acq straddle|random] [--accepted-only] [--json]
                                                 weak supervision with a simulated expert (answers from the true labels)
  loupe plugin new ssl-method|lf-generator|importer|exporter <name> [--dir FOLDER]
                                                 scaffold a working plugin (default: the user plugins folder)
  loupe plugin check <folder> [--json]           load a plugin as the app does and exercise it
  loupe methods [--json]                         self-supervised methods and their hyper-parameters
  loupe backends [--json]                        compute backends on this machine, and why not

Without a project, start, train, embed and eval use the default project in ${defaultProjectDir()}.
`;

class UsageError extends Error {}

function print(json: boolean, human: string, data: unknown): void {
  if (json) console.log(JSON.stringify(data));
  else console.log(human);
}

function requireArg(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`Missing ${what}.`);
  return value;
}

async function runImport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, labels: { type: 'string' }, 'labels-from-folders': { type: 'boolean' }, dataset: { type: 'string' } },
  });
  const projectDir = requireArg(positionals[0], 'project folder');
  const folder = path.resolve(requireArg(positionals[1], 'folder to import'));
  const labels: LabelSpec = values.labels ? { kind: 'csv', file: path.resolve(values.labels) } : values['labels-from-folders'] ? { kind: 'folders' } : { kind: 'none' };
  const host = new Host({ projectDir, userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    await host.loadUserPlugins();
    // A killed earlier run of the same import is resumed rather than started anew.
    const interrupted = host.jobs
      .list(200)
      .find((j) => j.kind === 'import' && ['interrupted', 'paused'].includes(j.state) && path.resolve((j.params as { folder: string }).folder) === folder);
    let jobId: number;
    if (interrupted) {
      host.jobs.resume(interrupted.id);
      jobId = interrupted.id;
      if (!values.json) console.error(`Resuming interrupted import #${jobId}.`);
    } else {
      jobId = ((await host.call('import.start', { folder, labels, ...(values.dataset ? { datasetName: values.dataset } : {}) })) as { jobId: number }).jobId;
    }
    const tty = process.stderr.isTTY;
    const onJob = (job: JobInfo) => {
      if (job.id !== jobId || job.state !== 'running') return;
      if (tty) process.stderr.write(`\r\x1b[2K${progressLine(job)}`);
      else if (!values.json) console.error(progressLine(job));
    };
    host.jobs.on('job', onJob);
    const onSignal = () => host.jobs.cancel(jobId);
    process.once('SIGINT', onSignal);
    const final = await host.jobs.waitFor(jobId);
    process.off('SIGINT', onSignal);
    if (tty) process.stderr.write('\n');
    if (final.state !== 'done') {
      const msg = final.error ? `${final.error.message}${final.error.hint ? `\n${final.error.hint}` : ''}` : `Import ${final.state}.`;
      print(!!values.json, msg, { ok: false, state: final.state, error: final.error });
      return 1;
    }
    const r = final.result as ImportResult;
    const ds = listDatasets(host.project.db).find((d) => d.id === r.datasetId)!;
    const summary = { ok: true, dataset: ds.name, datasetId: r.datasetId, imported: r.imported, duplicates: r.duplicates, failed: r.failed, unchanged: r.unchanged, ignored: r.ignored, labeled: r.labeled, split: r.split, failures: r.failures, totals: ds.counts };
    const human = [
      `Imported ${r.imported} new image(s) into "${ds.name}"; ${r.duplicates} duplicate(s), ${r.failed} failed, ${r.unchanged} already there, ${r.ignored} non-image file(s) passed over.`,
      r.split ? `${r.split} image(s) keep the training / validation / test split of their folders (loupe split --show).` : '',
      ...r.failures.slice(0, 20).map((f) => `  ✗ ${f.path}: ${f.reason}`),
      r.failures.length > 20 ? `  … and ${r.failures.length - 20} more (see --json)` : '',
      `Dataset now holds ${ds.counts.ok} image(s).`,
    ].filter(Boolean).join('\n');
    print(!!values.json, human, summary);
    return 0;
  } finally {
    host.close();
  }
}

function runInfo(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const project = Project.open(requireArg(positionals[0], 'project folder'));
  try {
    const datasets = listDatasets(project.db);
    const jobs = project.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as { state: string; n: number }[];
    const data = { project: project.dir, datasets: datasets.map((d) => ({ id: d.id, name: d.name, root: d.root, ...d.counts, classes: d.classes, labeled: d.labeled, splits: d.splits })), jobs: Object.fromEntries(jobs.map((j) => [j.state, j.n])) };
    const human = [`Project ${project.dir}`, ...(datasets.length ? datasets.map((d) => `  ${d.name}: ${d.counts.ok} images, ${d.counts.duplicate} duplicates, ${d.counts.failed} failed, ${d.classes} classes, ${d.labeled} labelled${d.splits.val + d.splits.test ? `; split ${d.splits.train} training / ${d.splits.val} validation / ${d.splits.test} test${d.splits.none ? ` / ${d.splits.none} none` : ''}` : ''}`) : ['  (no datasets yet: `loupe import <project> <folder>`)'])].join('\n');
    print(!!values.json, human, data);
    return 0;
  } finally {
    project.close();
  }
}

function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => console.error('Could not open a browser; open the address above yourself.'));
  child.unref();
}

/** Path of the Electron binary when the optional dependency installed, else undefined. */
function electronBinary(): string | undefined {
  try {
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string' && fs.existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

async function runServe(args: string[], isStart: boolean): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'no-open': { type: 'boolean' }, port: { type: 'string' }, browser: { type: 'boolean' } } });
  const projectDir = positionals[0] ?? (isStart ? defaultProjectDir() : requireArg(undefined, 'project folder'));
  if (isStart && !values.browser) {
    const electron = electronBinary();
    const main = path.join(repoRoot, 'electron', 'dist', 'main.mjs');
    if (electron && fs.existsSync(main)) {
      const child = spawn(electron, [main, '--project', path.resolve(projectDir)], { stdio: 'inherit' });
      return await new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
    }
    console.error('Electron is not installed: opening Loupe in your browser instead.');
  }
  const host = new Host({ projectDir, userDir: userDataDir(), transport: 'http', create: isStart || Project.exists(projectDir) });
  await host.loadUserPlugins();
  const served = await serve(host, { staticDir: rendererDist, ...(values.port ? { port: Number(values.port) } : {}) });
  console.log(`Loupe is running for project ${host.project.dir}`);
  console.log(`Open: ${served.launchUrl}`);
  console.log('Press Ctrl+C to stop.');
  if (!values['no-open']) openInBrowser(served.launchUrl);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await served.close();
  host.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'init': {
        const p = Project.open(requireArg(rest[0], 'project folder'), { create: true });
        console.log(`Project ready at ${p.dir}`);
        p.close();
        return 0;
      }
      case 'import':
        return await runImport(rest);
      case 'info':
        return runInfo(rest);
      case 'serve':
        return await runServe(rest, false);
      case 'split':
        return await runSplit(rest);
      case 'train':
        return await runTrain(rest);
      case 'embed':
        return await runEmbed(rest);
      case 'eval':
        return await runEval(rest);
      case 'runs':
        return runRuns(rest);
      case 'cluster':
        return await runCluster(rest);
      case 'export':
        return await runExportCommand(rest);
      case 'plugin':
        return await runPlugin(rest);
      case 'iws':
        return await runIws(rest);
      case 'label':
        // `loupe label export <project> --format csv|folders|coco <out>`: the labels export by another name.
        if (rest[0] !== 'export') throw new UsageError('Usage: loupe label export <project> --format csv|folders|coco <out>');
        return await runExportCommand([rest[1] ?? '', 'labels', ...rest.slice(2)]);
      case 'methods':
        return runMethods(rest);
      case 'backends':
        return await runBackends(rest);
      case 'start':
      case undefined:
        return await runServe(rest, true);
      case '--version':
        console.log(VERSION);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        console.log(usage);
        return 0;
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    const e = asLoupeError(err);
    const json = argv.includes('--json');
    if (json) console.log(JSON.stringify({ ok: false, error: e.toJSON() }));
    else console.error(`Error: ${e.message}${e.hint ? `\n${e.hint}` : ''}`);
    if (!(err instanceof LoupeError) && process.env.LOUPE_DEBUG) console.error(err);
    return 1;
  }
}
