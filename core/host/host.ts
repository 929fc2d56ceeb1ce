import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { type AppInfo, type HostEvent, inputs, isMethod, type Method, type Output, type ParsedInput, type RunSummary, type TrainOptions } from '../api/contract.ts';
import { emojiPackageDir, prepareEmojiDemo } from '../demo.ts';
import { asLoupeError, LoupeError } from '../errors.ts';
import { openImage, renderDisplay } from '../images/decode.ts';
import { classify } from '../images/formats.ts';
import { importJobKind, type ImportParams, makeThumbnail, resolveDataset } from '../images/import.ts';
import { probeBackends } from '../engine/backends/select.ts';
import { trainSettingHelp, type TrainConfig } from '../engine/config.ts';
import { attachJob, createTrainingRun, embedJobKind, trainJobKind } from '../engine/jobs.ts';
import { resolveHyperparameters } from '../engine/method.ts';
import { builtinSslMethods, findSslMethod } from '../engine/methods.ts';
import { presetsFor } from '../engine/presets.ts';
import { loadLabels } from '../engine/labels.ts';
import { clusterJobKind, nearestImages } from '../cluster/jobs.ts';
import { embeddingMap, splitByReclustering } from '../cluster/run.ts';
import { assignments, clusterMembers, discardCluster, getClustering, listClusterings, listClusters, markOutliers, mergeClusters, nameCluster, undoLastEdit } from '../cluster/store.ts';
import { getMetrics, getRun, listRuns } from '../store/runs.ts';
import type { SslMethod } from '../engine/method.ts';
import { JobRunner } from '../jobs/runner.ts';
import type { Exporter, Importer, Plugin } from '../plugins/contract.ts';
import { builtinImporters, loadUserPlugins, pluginContext, type PluginProblem, validateExporter, validateLfGenerator, validateSslMethod } from '../plugins/registry.ts';
import { suggestImages } from '../weak/active.ts';
import { builtinLfGenerators } from '../weak/candidates.ts';
import { IwsSessions } from '../weak/session.ts';
import type { ClassBalance } from '../weak/propagate.ts';
import { latestSession } from '../weak/store.ts';
import { StagedOutput } from '../export/output.ts';
import { exportersFrom, findExporter, runExport, type ExportRequest } from '../export/run.ts';
import { deleteDataset, getDataset, listDatasets, renameDataset, SCIENTIFIC_SQL, updateDatasetSettings } from '../store/datasets.ts';
import { getImage, listClasses, listTags, queryImages, setLabels, setTag } from '../store/images.ts';
import { Project } from '../store/project.ts';
import { assignSplits, clearSplits, splitSummary } from '../store/splits.ts';
import { readRecent, rememberRecent } from './recent.ts';
import { VERSION } from '../version.ts';

export interface HostOptions {
  projectDir: string;
  userDir: string;
  transport: AppInfo['transport'];
  /** Native folder picker, where the shell has one (Electron). */
  canPickFolders?: boolean;
  /** Create the project folder when missing (the app does; the CLI asks for `loupe init`). */
  create?: boolean;
  /** Re-run interrupted resumable jobs at start-up (the app does; the CLI resumes only its own). */
  autoResume?: boolean;
}

type Handlers = { [M in Method]: (input: ParsedInput<M>) => Output<M> | Promise<Output<M>> };

/**
 * The host: implements the API contract over one open project. Transports (IPC, HTTP) only
 * parse requests and forward them to `call`; this is the single place that checks input.
 */
export class Host extends EventEmitter<{ event: [HostEvent] }> {
  project!: Project;
  jobs!: JobRunner;
  private readonly importers = builtinImporters();
  private userPlugins: { id: string; name: string; kind: string; source: string }[] = [];
  private iws!: IwsSessions;
  private userLfGenerators: Plugin[] = [];
  /** Built-in exporters, then those of user plugins. */
  readonly exporters: Exporter[] = exportersFrom();
  private pluginProblems: PluginProblem[] = [];
  private userSslMethods: SslMethod[] = [];

  constructor(private readonly opts: HostOptions) {
    super();
    this.openProject(opts.projectDir, opts.create ?? true);
  }

  async call(method: unknown, raw: unknown): Promise<unknown> {
    if (!isMethod(method)) throw new LoupeError('invalid-input', `Unknown API method "${String(method)}".`);
    const parsed = inputs[method].safeParse(raw ?? {});
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new LoupeError('invalid-input', `Invalid request to ${method}: ${first ? `${first.path.join('.') || 'input'}: ${first.message}` : 'bad input'}.`);
    }
    const handler = this.handlers[method] as (input: unknown) => unknown;
    return handler(parsed.data);
  }

  /**
   * Loads third-party plugins from `<user data>/plugins`. A broken plugin is reported (in
   * app.info and on stderr) and skipped; it never stops the app.
   */
  async loadUserPlugins(dir = path.join(this.opts.userDir, 'plugins')): Promise<void> {
    const { loaded, problems } = await loadUserPlugins(dir);
    this.pluginProblems = problems;
    for (const p of problems) console.error(`Plugin skipped: ${p.source}: ${p.reason}`);
    for (const { plugin, source } of loaded) {
      const m = plugin.manifest;
      if (m.kind === 'ssl-method') {
        const method = this.activateChecked(plugin, source, (x) => validateSslMethod(x, m.id)
          ?? ([...builtinSslMethods, ...this.userSslMethods].some((b) => b.id === m.id) ? `a method with id "${m.id}" is already loaded` : undefined));
        if (method === undefined) continue;
        this.userSslMethods.push(method as SslMethod);
      }
      if (m.kind === 'importer') {
        const importer = this.activateChecked(plugin, source, () => (this.importers.has(m.id) ? `an importer with id "${m.id}" is already loaded` : undefined));
        if (importer === undefined) continue;
        this.importers.set(m.id, importer as Importer);
      }
      if (m.kind === 'lf-generator') {
        if (this.activateChecked(plugin, source, validateLfGenerator) === undefined) continue;
        this.userLfGenerators.push(plugin);
      }
      if (m.kind === 'exporter') {
        const exporter = this.activateChecked(plugin, source, (x) => validateExporter(x)
          ?? (this.exporters.some((e) => e.subject === (x as Exporter).subject && e.format === (x as Exporter).format) ? `a ${(x as Exporter).subject} export in format "${(x as Exporter).format}" is already loaded` : undefined));
        if (exporter === undefined) continue;
        this.exporters.push(exporter as Exporter);
      }
      this.userPlugins.push({ id: m.id, name: m.name, kind: m.kind, source });
    }
  }

  /**
   * Activates a user plugin and checks what it returned; on failure the reason is recorded in
   * pluginProblems and undefined returned (the plugin is skipped, never fatal).
   */
  private activateChecked(plugin: Plugin, source: string, check: (activated: unknown) => string | undefined): unknown {
    let activated: unknown;
    try {
      activated = plugin.activate(pluginContext(plugin.manifest.id));
    } catch (err) {
      this.pluginProblems.push({ source, reason: `activate failed: ${(err as Error).message}` });
      return undefined;
    }
    const reason = check(activated);
    if (reason) {
      this.pluginProblems.push({ source, reason });
      return undefined;
    }
    return activated;
  }

  /** SSL methods from user plugins (built-in ones are always available). */
  sslMethods(): SslMethod[] {
    return this.userSslMethods;
  }

  /** Queues the training job of a recorded run. */
  startTraining(runId: number): number {
    const jobId = this.jobs.start('train', { runId });
    attachJob(this.project, runId, jobId);
    return jobId;
  }

  /** Path of an image's thumbnail file, or undefined when it has none (failed import). */
  thumbnailFile(imageId: number): string | undefined {
    const row = this.project.db.prepare('SELECT hash, status FROM images WHERE id = ?').get(imageId) as { hash: string | null; status: string } | undefined;
    if (!row?.hash || row.status === 'failed') return undefined;
    const file = this.project.thumbPath(row.hash);
    return fs.existsSync(file) ? file : undefined;
  }

  /**
   * The image drawn for the detail view and active labelling, made on demand from the original
   * file. JPEG, except for images with transparency: WebP keeps it (JPEG would flatten it onto
   * black, unlike the thumbnails, which keep it too), at about twice JPEG's encoding time (85
   * against 35 ms at 1600 × 1200 here).
   */
  async preview(imageId: number, maxSize = 1600): Promise<{ bytes: Buffer; contentType: 'image/jpeg' | 'image/webp' }> {
    const img = getImage(this.project.db, imageId);
    if (img.status === 'failed') throw new LoupeError('invalid-input', `This file could not be imported: ${img.error}`);
    const data = await fs.promises.readFile(img.path).catch((err) => {
      throw new LoupeError('not-found', `The original file is missing: ${img.path}`, { hint: 'It was moved or deleted after import. Re-import its folder.', cause: err });
    });
    const display = getDataset(this.project.db, img.datasetId).settings.display;
    const image = await openImage(data);
    return image.info.hasAlpha && !image.info.scientific
      ? { bytes: await renderDisplay(image, maxSize, display, 'webp', 90), contentType: 'image/webp' }
      : { bytes: await renderDisplay(image, maxSize, display, 'jpeg'), contentType: 'image/jpeg' };
  }

  close(): void {
    this.jobs?.dispose();
    this.project?.close();
  }

  private openProject(dir: string, create: boolean): void {
    const next = Project.open(dir, { create });
    this.close();
    this.project = next;
    this.jobs = new JobRunner(next.db);
    this.jobs.register(importJobKind(next, this.importers));
    this.jobs.register(trainJobKind(next, () => this.sslMethods()));
    this.jobs.register(embedJobKind(next));
    this.jobs.register(clusterJobKind(next));
    this.iws = new IwsSessions(next, () => [...builtinLfGenerators, ...this.userLfGenerators] as Plugin[]);
    this.jobs.register({
      kind: 'iws-prepare',
      resumable: true,
      title: () => 'Prepare candidate rules for weak supervision',
      run: (ctx) => {
        const p = ctx.params as { datasetId: number; runId?: number; classBalance?: ClassBalance };
        return this.iws.prepare(p.datasetId, p.runId, { ...(p.classBalance ? { classBalance: p.classBalance } : {}), signal: ctx.signal, progress: ctx.progress });
      },
    });
    this.jobs.register({
      kind: 'iws-apply',
      // Labels are written in one transaction at the end: a cancelled or crashed apply leaves the
      // previous labels as they were, and applying again starts over.
      resumable: false,
      title: () => 'Apply labels from the rules',
      run: (ctx) => {
        const p = ctx.params as { sessionId: number; selfTraining?: number; classBalance?: ClassBalance; classShares?: (number | null)[] };
        return this.iws.apply(p.sessionId, { selfTraining: p.selfTraining ?? 0, ...(p.classBalance ? { classBalance: p.classBalance } : {}), ...(p.classShares ? { classShares: p.classShares } : {}), signal: ctx.signal, progress: ctx.progress });
      },
    });
    this.jobs.register({
      kind: 'export',
      resumable: false,
      title: (p: ExportRequest) => `Export ${p.subject} (${p.format ?? 'default format'})`,
      run: (ctx) => runExport(next, ctx.params as ExportRequest, { signal: ctx.signal, progress: (done, total) => ctx.progress(done, total), exporters: this.exporters }),
    });
    this.jobs.register({
      kind: 'render-thumbnails',
      resumable: true,
      title: () => 'Redraw thumbnails',
      run: async (ctx) => this.redrawThumbnails(ctx.params as { datasetId: number }, ctx),
    });
    this.jobs.register({
      kind: 'redraw-stale-thumbnails',
      resumable: true,
      title: () => 'Redraw thumbnails drawn by an older version',
      run: async (ctx) => this.redrawStaleThumbnails(ctx),
    });
    this.jobs.on('job', (job) => {
      this.emit('event', { type: 'job', job });
      if ((job.kind === 'import' && job.state !== 'queued') || (job.kind === 'iws-apply' && job.state === 'done')) this.emit('event', { type: 'datasets-changed' });
    });
    this.jobs.recover({ autoResume: this.opts.autoResume ?? true });
    this.startStaleThumbnailRedraw();
    rememberRecent(this.opts.userDir, next.dir);
    this.emit('event', { type: 'project-changed', project: { dir: next.dir, name: next.name } });
  }

  private info(): AppInfo {
    return {
      version: VERSION,
      transport: this.opts.transport,
      project: { dir: this.project.dir, name: this.project.name },
      recentProjects: readRecent(this.opts.userDir),
      demoAvailable: emojiPackageDir() !== undefined,
      canPickFolders: this.opts.canPickFolders ?? false,
      plugins: this.userPlugins,
      pluginProblems: this.pluginProblems,
    };
  }

  private async redrawThumbnails(p: { datasetId: number }, ctx: { signal: AbortSignal; progress(d: number, t?: number): void }): Promise<{ redrawn: number }> {
    const { db } = this.project;
    const display = getDataset(db, p.datasetId).settings.display;
    const rows = db
      .prepare(`SELECT path, hash FROM images WHERE dataset_id = ? AND status = 'ok' AND ${SCIENTIFIC_SQL}`)
      .all(p.datasetId) as { path: string; hash: string }[];
    let done = 0;
    for (const r of rows) {
      if (ctx.signal.aborted) break;
      try {
        await makeThumbnail(this.project, r.hash, await fs.promises.readFile(r.path), display);
      } catch {
        // A file gone since import keeps its old thumbnail.
      }
      ctx.progress(++done, rows.length);
    }
    this.emit('event', { type: 'datasets-changed' });
    return { redrawn: done };
  }

  /**
   * Starts the redraw of thumbnails a migration listed as stale, unless nothing is listed or a
   * redraw already exists unfinished (a paused or interrupted one waits for the user, like any other job).
   */
  private startStaleThumbnailRedraw(): void {
    const { n } = this.project.db.prepare('SELECT COUNT(*) AS n FROM stale_thumbnails').get() as { n: number };
    if (n === 0 || this.jobs.list(200).some((j) => j.kind === 'redraw-stale-thumbnails' && ['queued', 'running', 'paused', 'interrupted'].includes(j.state))) return;
    this.jobs.start('redraw-stale-thumbnails', {});
  }

  /** Redraws each listed thumbnail from one of the files it shows, removing it from the list once drawn. */
  private async redrawStaleThumbnails(ctx: { signal: AbortSignal; progress(d: number, t?: number): void }): Promise<{ redrawn: number; missing: number }> {
    const { db } = this.project;
    const hashes = (db.prepare('SELECT hash FROM stale_thumbnails').all() as { hash: string }[]).map((r) => r.hash);
    const source = db.prepare("SELECT path, dataset_id AS datasetId FROM images WHERE hash = ? AND status = 'ok' ORDER BY id");
    const done = db.prepare('DELETE FROM stale_thumbnails WHERE hash = ?');
    let redrawn = 0, missing = 0;
    for (const [i, hash] of hashes.entries()) {
      if (ctx.signal.aborted) break;
      // Any file with this content will do (thumbnails are named by content); the first readable one.
      let drawn = false;
      for (const { path: file, datasetId } of source.all(hash) as { path: string; datasetId: number }[]) {
        try {
          await makeThumbnail(this.project, hash, await fs.promises.readFile(file), getDataset(db, datasetId).settings.display);
          drawn = true;
          break;
        } catch (err) {
          if (asLoupeError(err, this.project.dir).code === 'disk-full') throw err;
          // Moved or deleted since import: try another copy; with none, the old thumbnail stays.
        }
      }
      if (drawn) redrawn++;
      else missing++;
      done.run(hash);
      ctx.progress(i + 1, hashes.length);
    }
    if (redrawn) this.emit('event', { type: 'datasets-changed' });
    return { redrawn, missing };
  }

  /** Deletes a dataset and the thumbnails no other dataset shares (they are named by content). */
  private removeDataset(id: number): void {
    const { db } = this.project;
    const running = this.jobs.list(200).find((j) => ['running', 'queued'].includes(j.state) && (j.params as { datasetId?: number }).datasetId === id);
    if (running) throw new LoupeError('conflict', 'This dataset is being imported.', { hint: 'Cancel the import in the jobs panel first.' });
    const hashes = (db.prepare('SELECT DISTINCT hash FROM images WHERE dataset_id = ? AND hash IS NOT NULL').all(id) as { hash: string }[]).map((r) => r.hash);
    deleteDataset(db, id);
    const stillUsed = db.prepare('SELECT 1 FROM images WHERE hash = ? LIMIT 1');
    for (const hash of hashes) if (!stillUsed.get(hash)) fs.rmSync(this.project.thumbPath(hash), { force: true });
    this.emit('event', { type: 'datasets-changed' });
  }

  private startImport(params: ImportParams): { jobId: number; datasetId: number } {
    const folder = path.resolve(params.folder);
    if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
      throw new LoupeError('not-found', `Folder not found: ${folder}`, { hint: 'Check the path and try again.' });
    }
    const datasetId = resolveDataset(this.project, { ...params, folder });
    const jobId = this.jobs.start<ImportParams>('import', { ...params, folder, datasetId });
    this.emit('event', { type: 'datasets-changed' });
    return { jobId, datasetId };
  }

  private readonly handlers: Handlers = {
    'app.info': () => this.info(),
    'project.open': ({ path: dir, create }) => {
      this.openProject(dir, create);
      return this.info();
    },
    'datasets.list': () => listDatasets(this.project.db),
    'datasets.rename': ({ id, name }) => {
      renameDataset(this.project.db, id, name);
      this.emit('event', { type: 'datasets-changed' });
      return null;
    },
    'datasets.delete': ({ id }) => {
      this.removeDataset(id);
      return null;
    },
    'datasets.setDisplay': ({ id, channelMap, percentiles }) => {
      const current = getDataset(this.project.db, id).settings.display;
      updateDatasetSettings(this.project.db, id, { display: { channelMap: channelMap ?? current.channelMap, percentiles: percentiles ?? current.percentiles } });
      return { jobId: this.jobs.start('render-thumbnails', { datasetId: id }) };
    },
    'datasets.split': ({ id, val, test, seed, reshuffle, groupBy }) => {
      getDataset(this.project.db, id);
      const result = assignSplits(this.project.db, id, { val, test, seed, reshuffle, groupBy });
      // Kept for the images imported later, unless the request changed nothing (all kept theirs).
      if (result.assigned > 0 || reshuffle) updateDatasetSettings(this.project.db, id, { split: { val, test, seed, groupBy } });
      this.emit('event', { type: 'datasets-changed' });
      return result;
    },
    'datasets.splits': ({ id }) => (getDataset(this.project.db, id), splitSummary(this.project.db, id)),
    'datasets.clearSplits': ({ id }) => {
      getDataset(this.project.db, id);
      const cleared = clearSplits(this.project.db, id);
      updateDatasetSettings(this.project.db, id, { split: null });
      this.emit('event', { type: 'datasets-changed' });
      return { cleared };
    },
    'images.query': (q) => queryImages(this.project.db, q),
    'images.get': ({ id }) => getImage(this.project.db, id),
    'classes.list': ({ datasetId }) => listClasses(this.project.db, datasetId),
    'labels.set': ({ imageIds, className }) => ({ changed: setLabels(this.project.db, imageIds, className, 'human') }),
    'tags.list': () => listTags(this.project.db),
    'tags.set': ({ imageIds, tag, on }) => {
      setTag(this.project.db, imageIds, tag, on);
      return null;
    },
    'import.start': (p) => this.startImport(p),
    'demo.create': () => {
      const folder = prepareEmojiDemo(this.project.dir);
      return this.startImport({ folder, datasetName: 'Emoji (demo)', labels: { kind: 'folders' } });
    },
    'jobs.list': () => this.jobs.list(),
    'jobs.cancel': ({ id }) => (this.jobs.cancel(id), null),
    'jobs.pause': ({ id }) => (this.jobs.pause(id), null),
    'jobs.resume': ({ id }) => (this.jobs.resume(id), null),
    'fs.browse': ({ path: p }) => browse(p),
    'train.options': () => this.trainOptions(),
    'train.start': ({ datasetId, method, hyperparameters, ...overrides }) => {
      getDataset(this.project.db, datasetId);
      const m = findSslMethod(method, this.userSslMethods);
      if (overrides.initFromRun !== undefined) {
        const from = getRun(this.project.db, overrides.initFromRun);
        if (from.datasetId !== datasetId) throw new LoupeError('invalid-input', 'The run to start from belongs to another dataset.');
        if (!from.encoder) throw new LoupeError('invalid-input', `Run #${from.id} has not finished: there is no encoder to start from yet.`, { hint: 'Let it finish, or pick a finished run.' });
      }
      const config: Partial<TrainConfig> = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
      let runId: number;
      try {
        resolveHyperparameters(m, hyperparameters);
        runId = createTrainingRun(this.project, m, datasetId, { ...config, hyperparameters });
      } catch (err) {
        throw err instanceof LoupeError ? err : new LoupeError('invalid-input', (err as Error).message);
      }
      return { runId, jobId: this.startTraining(runId) };
    },
    'train.runs': ({ datasetId }) => {
      const { db } = this.project;
      const embeddingCount = db.prepare('SELECT COUNT(*) AS n FROM embeddings WHERE run_id = ?');
      return listRuns<RunSummary['config']>(db, datasetId).map((r) => ({
        id: r.id, name: r.name, method: r.method, datasetId: r.datasetId, config: r.config, backend: r.backend, device: r.device,
        step: r.step, totalSteps: r.totalSteps, finished: r.encoder !== null, createdAt: r.createdAt,
        job: r.jobId ? this.jobs.get(r.jobId) : null, embeddings: (embeddingCount.get(r.id) as { n: number }).n,
      }));
    },
    'train.metrics': ({ runId, sinceStep }) => getMetrics(this.project.db, runId, sinceStep),
    'cluster.start': ({ datasetId, runId, algo, k, heads, sizes }) => {
      getDataset(this.project.db, datasetId);
      if (runId !== undefined && getRun(this.project.db, runId).datasetId !== datasetId) throw new LoupeError('invalid-input', 'That run belongs to another dataset.');
      const finished = runId ?? listRuns(this.project.db, datasetId).find((r) => r.encoder)?.id;
      if (finished === undefined) throw new LoupeError('conflict', 'No finished training run on this dataset yet.', { hint: 'Train an encoder first (Train view); clustering uses its embeddings.' });
      return { jobId: this.jobs.start('cluster', { runId: finished, algo, k, heads, sizes }) };
    },
    'iws.prepare': ({ datasetId, runId, classBalance }) => {
      getDataset(this.project.db, datasetId);
      return { jobId: this.jobs.start('iws-prepare', { datasetId, classBalance, ...(runId !== undefined ? { runId } : {}) }) };
    },
    'iws.session': ({ datasetId }) => {
      const row = latestSession(this.project.db, datasetId);
      return row ? this.iws.status(row.id) : null;
    },
    'iws.card': ({ sessionId }) => this.iws.card(sessionId),
    'iws.answer': ({ sessionId, lfIdx, answer }) => this.iws.answer(sessionId, lfIdx, answer),
    'iws.undo': ({ sessionId }) => this.iws.undo(sessionId),
    'iws.options': ({ sessionId, usePredicted }) => this.iws.setOptions(sessionId, { usePredicted }),
    'iws.apply': ({ sessionId, selfTraining, classBalance, classShares }) => {
      this.iws.checkApplicable(sessionId, classShares);
      return { jobId: this.jobs.start('iws-apply', { sessionId, selfTraining, classBalance, ...(classShares ? { classShares } : {}) }) };
    },
    'active.suggest': ({ datasetId, count, exclude, view }) => suggestImages(this.project, datasetId, count, exclude, view),
    'export.formats': () => this.exporters.map((e) => ({ subject: e.subject, format: e.format, description: e.description, output: e.output, extension: e.extension, options: e.options ?? [] })),
    'export.start': (request) => {
      getDataset(this.project.db, request.datasetId);
      // Refuse at once what the job would fail on: an unknown format, a taken destination.
      const exporter = findExporter(this.exporters, request.subject, request.format);
      StagedOutput.check(request.out, { kind: exporter.output, sidecars: exporter.sidecars, overwrite: request.overwrite });
      return { jobId: this.jobs.start('export', { ...request, format: exporter.format }) };
    },
    'cluster.list': ({ datasetId }) => listClusterings(this.project.db, datasetId).map(({ params: _p, ...c }) => c),
    'cluster.clusters': ({ clusteringId }) => listClusters(this.project.db, clusteringId),
    'cluster.members': ({ clusteringId, idx, offset, limit }) => clusterMembers(this.project.db, clusteringId, idx, offset, limit),
    'cluster.map': async ({ clusteringId }) => {
      const c = getClustering(this.project.db, clusteringId);
      const map = await embeddingMap(this.project, c.embeddingId);
      const a = assignments(this.project.db, clusteringId);
      const at = new Map(a.imageIds.map((id, i) => [id, i]));
      const keep = map.imageIds.map((id, i) => [id, i] as const).filter(([id]) => at.has(id));
      const labels = loadLabels(this.project.db, c.datasetId);
      return {
        label: keep.map(([id]) => labels.byImage.get(id) ?? -1), classNames: labels.classNames,
        imageIds: keep.map(([id]) => id),
        x: keep.map(([, i]) => map.coords[2 * i]!), y: keep.map(([, i]) => map.coords[2 * i + 1]!),
        cluster: keep.map(([id]) => a.clusters[at.get(id)!]!), confidence: keep.map(([id]) => a.confidence[at.get(id)!]!),
      };
    },
    'cluster.neighbors': ({ clusteringId, imageId, k }) => nearestImages(this.project, getClustering(this.project.db, clusteringId).embeddingId, imageId, k),
    'cluster.name': ({ clusteringId, idx, name }) => this.edited(nameCluster(this.project.db, clusteringId, idx, name)),
    'cluster.merge': ({ clusteringId, from, into }) => this.edited((mergeClusters(this.project.db, clusteringId, from, into), null)),
    'cluster.split': async ({ clusteringId, idx }) => this.edited({ idx: await splitByReclustering(this.project, clusteringId, idx) }),
    'cluster.discard': ({ clusteringId, idx }) => this.edited((discardCluster(this.project.db, clusteringId, idx), null)),
    'cluster.outliers': ({ clusteringId, imageIds, on }) => this.edited((markOutliers(this.project.db, clusteringId, imageIds, on), null)),
    'cluster.undo': ({ clusteringId }) => this.edited({ undone: undoLastEdit(this.project.db, clusteringId) }),
    'embed.start': ({ runId }) => {
      const run = getRun(this.project.db, runId);
      if (!run.encoder) throw new LoupeError('conflict', 'This run has not finished training yet.', { hint: 'Wait for it to finish, or resume it.' });
      return { jobId: this.jobs.start('embed', { runId }) };
    },
  };

  /** Explorer edits change labels and classes: the other views refresh. */
  private edited<T>(result: T): T {
    this.emit('event', { type: 'datasets-changed' });
    return result;
  }

  private backendReports: TrainOptions['backends'] | undefined;

  private async trainOptions(): Promise<TrainOptions> {
    this.backendReports ??= await probeBackends();
    return {
      methods: [...builtinSslMethods, ...this.userSslMethods].map((m) => ({
        id: m.id, name: m.name, summary: m.summary, reference: m.reference, hyperparameters: m.hyperparameters, defaults: m.defaults, presets: presetsFor(m),
        needsLabels: m.needsLabels === true,
      })),
      settings: trainSettingHelp,
      defaults: { imageSize: 64, width: 0.25 },
      backends: this.backendReports,
    };
  }
}

/** Lists sub-folders for the folder chooser of the served UI (the browser has no native picker). */
export function browse(p: string | undefined): { path: string; parent: string | null; dirs: string[]; imageFiles: number } {
  const dir = path.resolve(p || process.env.HOME || '/');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new LoupeError('not-found', `Cannot open folder ${dir}: ${(err as Error).message}`);
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort((a, b) => a.localeCompare(b));
  const imageFiles = entries.filter((e) => e.isFile() && classify(e.name) === 'image').length;
  const parent = path.dirname(dir);
  return { path: dir, parent: parent === dir ? null : parent, dirs, imageFiles };
}
