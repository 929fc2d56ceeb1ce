// `loupe plugin check <folder>`: loads a plugin exactly as the app does (same loader, same
// validation) and exercises it for real, by kind: an SSL method trains two steps on a tiny
// encoder, an LF generator runs on a synthetic embedding, an importer lists a folder of real
// images, an exporter exports a small real project. Plugin authors and their generated tests use it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { activateBackend } from '../engine/backends/select.ts';
import { resolveHyperparameters, type SslMethod } from '../engine/method.ts';
import { buildModel } from '../engine/model.ts';
import { defaultOptimizer, Optimizer } from '../engine/optim.ts';
import { Rng } from '../engine/rng.ts';
import { trainStep } from '../engine/step.ts';
import { runExport } from '../export/run.ts';
import type { Exporter, Importer, LfContext, LfGenerator, Plugin } from './contract.ts';
import { loadUserPlugins, pluginContext, validateExporter, validateLfCandidates, validateLfGenerator, validateSslMethod } from './registry.ts';

export interface PluginCheck {
  ok: boolean;
  id?: string;
  kind?: string;
  /** What was exercised, in words. */
  checks: string[];
  problem?: string;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `loupe-check-${prefix}-`));
}

/** A small synthetic embedding: `perClass` unit vectors around each of `classes` directions. */
export function syntheticLfContext(classes = 3, perClass = 20, dim = 8, seed = 1): LfContext {
  const rng = new Rng(seed);
  const n = classes * perClass;
  const features = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / perClass);
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = (j === c ? 3 : 0) + rng.normal() * 0.6;
      features[i * dim + j] = v;
      norm += v * v;
    }
    for (let j = 0; j < dim; j++) features[i * dim + j]! /= Math.sqrt(norm);
  }
  return {
    features, dim, imageIds: Array.from({ length: n }, (_, i) => i + 1),
    classes: Array.from({ length: classes }, (_, c) => ({ index: c, name: `class ${c}`, examples: [c * perClass, c * perClass + 1, c * perClass + 2] })),
    clusterings: [{ id: 1, k: classes, assignment: Int32Array.from({ length: n }, (_, i) => Math.floor(i / perClass)), names: new Array(classes).fill(null) }],
    random: () => rng.uniform(0, 1),
  };
}

async function checkSsl(plugin: Plugin, checks: string[]): Promise<void> {
  const method = plugin.activate(pluginContext(plugin.manifest.id)) as SslMethod;
  const reason = validateSslMethod(method, plugin.manifest.id);
  if (reason) throw new Error(reason);
  await activateBackend();
  const size = 16, batch = 8;
  const hp = resolveHyperparameters(method, {});
  const model = buildModel(method, { arch: 'resnet18', width: 0.125, inputSize: size, inChannels: 3 }, hp, 1);
  const optimizer = new Optimizer({ ...defaultOptimizer, name: method.defaults.optimizer });
  try {
    const rng = new Rng(2);
    const specs = method.views(size, hp);
    const losses: number[] = [];
    for (let step = 0; step < 2; step++) {
      const views = specs.map((s) => tf.tensor4d(Float32Array.from({ length: batch * s.size * s.size * 3 }, () => rng.normal()), [batch, s.size, s.size, 3]));
      const loss = trainStep(model, optimizer, views, step, 2, method.defaults.learningRate);
      losses.push((await loss.data())[0]!);
      tf.dispose([loss, ...views]);
    }
    if (!losses.every(Number.isFinite)) throw new Error(`the loss is not finite (${losses.join(', ')})`);
    checks.push(`trained 2 steps of a width-0.125 ResNet-18 on ${specs.length} views: loss ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

function checkLf(plugin: Plugin, checks: string[]): void {
  const generator = plugin.activate(pluginContext(plugin.manifest.id)) as LfGenerator;
  const reason = validateLfGenerator(generator);
  if (reason) throw new Error(reason);
  const ctx = syntheticLfContext();
  const candidates = generator.generate(ctx);
  const bad = validateLfCandidates(candidates, ctx.imageIds.length, ctx.classes.length);
  if (bad) throw new Error(bad);
  if (candidates.length === 0) throw new Error('generate() proposed no candidates on a clearly separated synthetic embedding');
  checks.push(`generated ${candidates.length} valid candidates on a synthetic embedding of ${ctx.imageIds.length} rows and ${ctx.classes.length} classes`);
}

async function checkImporter(plugin: Plugin, checks: string[]): Promise<void> {
  const importer = plugin.activate(pluginContext(plugin.manifest.id)) as Importer;
  if (!importer || typeof importer.list !== 'function') throw new Error('activate() must return { list(source, labels, signal) }');
  const folder = tempDir('importer');
  for (const [i, name] of ['a_1.png', 'b_2.png'].entries()) {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 40 * i, g: 90, b: 160 } } }).png().toFile(path.join(folder, name));
  }
  const listing = await importer.list(folder, { kind: 'none' }, new AbortController().signal);
  if (!listing || !Array.isArray(listing.images) || !Array.isArray(listing.unsupported) || !Array.isArray(listing.unreadable) || typeof listing.ignored !== 'number') {
    throw new Error('list() must resolve to { images, unsupported, ignored, unreadable }');
  }
  for (const e of listing.images) {
    if (typeof e.abs !== 'string' || typeof e.rel !== 'string' || !fs.existsSync(e.abs)) throw new Error(`listed entry ${JSON.stringify(e)} does not name an existing file`);
  }
  checks.push(`listed a folder of 2 PNGs: ${listing.images.length} images, ${listing.unsupported.length} unsupported, ${listing.ignored} ignored`);
}

async function checkExporter(plugin: Plugin, checks: string[]): Promise<void> {
  const exporter = plugin.activate(pluginContext(plugin.manifest.id)) as Exporter;
  const reason = validateExporter(exporter);
  if (reason) throw new Error(reason);
  if (exporter.subject === 'embeddings' || exporter.subject === 'encoder' || exporter.subject === 'clusters') {
    checks.push(`${exporter.subject} exporter validated (a trained project is needed to run it: try it with loupe export)`);
    return;
  }
  // A small real project: two labelled images, imported by the built-in importer.
  const { Host } = await import('../host/host.ts');
  const folder = tempDir('export-src');
  for (const [i, cls] of ['cats', 'dogs'].entries()) {
    fs.mkdirSync(path.join(folder, cls));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 100 * i, g: 50, b: 50 } } }).png().toFile(path.join(folder, cls, `${cls}.png`));
  }
  const host = new Host({ projectDir: tempDir('export-project'), userDir: tempDir('export-user'), transport: 'http', create: true, autoResume: false });
  try {
    const { jobId, datasetId } = (await host.call('import.start', { folder, labels: { kind: 'folders' } })) as { jobId: number; datasetId: number };
    await host.jobs.waitFor(jobId);
    const out = path.join(tempDir('export-out'), `out${exporter.extension ?? ''}`);
    const result = await runExport(host.project, { datasetId, subject: exporter.subject, format: exporter.format, out }, { exporters: [exporter] });
    for (const f of result.files) if (!fs.existsSync(f)) throw new Error(`the export reported ${f} but it is not there`);
    checks.push(`exported the labels of a 2-image project: ${result.count} items, ${result.files.length} file(s)`);
  } finally {
    host.close();
  }
}

export async function checkPlugin(folder: string): Promise<PluginCheck> {
  const abs = path.resolve(folder);
  const checks: string[] = [];
  // The app's loader reads a folder of plugin folders; point it at this one alone.
  const parent = tempDir('plugins');
  fs.symlinkSync(abs, path.join(parent, path.basename(abs)), 'dir');
  const { loaded, problems } = await loadUserPlugins(parent);
  if (problems.length || loaded.length !== 1) return { ok: false, checks, problem: problems[0]?.reason ?? 'no plugin found' };
  const plugin = loaded[0]!.plugin;
  checks.push(`loaded ${plugin.manifest.kind} "${plugin.manifest.id}" ${plugin.manifest.version} (plugin API ${plugin.manifest.apiVersion})`);
  try {
    switch (plugin.manifest.kind) {
      case 'ssl-method': await checkSsl(plugin, checks); break;
      case 'lf-generator': checkLf(plugin, checks); break;
      case 'importer': await checkImporter(plugin, checks); break;
      case 'exporter': await checkExporter(plugin, checks); break;
      default: checks.push(`no run-time check for kind ${plugin.manifest.kind}`);
    }
    return { ok: true, id: plugin.manifest.id, kind: plugin.manifest.kind, checks };
  } catch (err) {
    return { ok: false, id: plugin.manifest.id, kind: plugin.manifest.kind, checks, problem: (err as Error).message };
  }
}
