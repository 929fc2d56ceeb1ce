import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { clustersCsvExporter } from '../../plugins/exporters/clusters-csv.ts';
import { embeddingsNpyExporter } from '../../plugins/exporters/embeddings-npy.ts';
import { embeddingsParquetExporter } from '../../plugins/exporters/embeddings-parquet.ts';
import { encoderOnnxExporter } from '../../plugins/exporters/encoder-onnx.ts';
import { encoderTfjsExporter } from '../../plugins/exporters/encoder-tfjs.ts';
import { labelsCocoExporter } from '../../plugins/exporters/labels-coco.ts';
import { labelsCsvExporter } from '../../plugins/exporters/labels-csv.ts';
import { labelsFoldersExporter } from '../../plugins/exporters/labels-folders.ts';
import { lfVotesNpyExporter } from '../../plugins/exporters/lf-votes-npy.ts';
import { folderImporter } from '../../plugins/importers/folder.ts';
import * as tf from '@tensorflow/tfjs';
import { resolveHyperparameters, type SslMethod } from '../engine/method.ts';
import { sslToolkit } from '../engine/toolkit.ts';
import { API_VERSION, type Exporter, exportSubjects, type Importer, type LfCandidate, type LfGenerator, manifestSchema, type Plugin, type PluginContext } from './contract.ts';

export interface LoadedPlugin {
  plugin: Plugin;
  source: 'builtin' | string;
}

export interface PluginProblem {
  source: string;
  reason: string;
}

const builtins: Plugin[] = [folderImporter as Plugin];

/** Built-in exporters, in the order formats are offered (the first of a subject is its default). */
export const builtinExporterPlugins: Plugin[] = [
  embeddingsNpyExporter, embeddingsParquetExporter, labelsCsvExporter, labelsFoldersExporter, labelsCocoExporter, clustersCsvExporter, encoderOnnxExporter, encoderTfjsExporter, lfVotesNpyExporter,
] as Plugin[];

/** What every plugin's activate() receives, built-in or third-party. */
export const pluginContext = (id: string): PluginContext => ({
  apiVersion: API_VERSION, log: (m) => console.error(`[plugin ${id}] ${m}`), tf, ssl: sslToolkit,
});

/** What an ssl-method plugin's activate() must return; the reason it is refused otherwise. */
export function validateSslMethod(candidate: unknown, manifestId: string): string | undefined {
  const m = candidate as Partial<SslMethod> | undefined;
  if (!m || typeof m !== 'object') return 'activate() returned no method object';
  if (m.id !== manifestId) return `the method's id "${String(m.id)}" differs from the manifest's "${manifestId}"`;
  if (typeof m.name !== 'string' || !m.name) return 'the method has no name';
  if (!Array.isArray(m.hyperparameters)) return 'hyperparameters must be an array (it may be empty)';
  for (const h of m.hyperparameters) {
    if (!h || typeof h.key !== 'string' || !['number', 'integer', 'boolean', 'choice'].includes(h.type) || h.default === undefined) {
      return `hyper-parameter ${JSON.stringify(h?.key)} needs key, type (number|integer|boolean|choice) and default`;
    }
  }
  const d = m.defaults;
  if (!d || !['adam', 'adamw', 'sgd', 'lars'].includes(d.optimizer) || !(d.learningRate > 0) || !(d.batchSize >= 2) || !(d.epochs >= 1)) {
    return 'defaults needs optimizer (adam|adamw|sgd|lars), learningRate, weightDecay, batchSize, epochs and warmupEpochs';
  }
  if (typeof m.views !== 'function' || typeof m.build !== 'function') return 'views and build must be functions';
  if (m.needsLabels !== undefined && typeof m.needsLabels !== 'boolean') return 'needsLabels must be true or false, or left out';
  if (m.outputEncoder !== undefined && (typeof m.outputEncoder !== 'string' || !/^[a-z][a-z0-9_]*$/.test(m.outputEncoder) || m.outputEncoder === 'encoder')) {
    return 'outputEncoder must be the prefix given to createEncoder (lower-case letters, digits, underscores), or left out';
  }
  if (m.presets !== undefined) {
    if (!Array.isArray(m.presets)) return 'presets must be an array';
    for (const p of m.presets) {
      if (!p || typeof p.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(p.id)) return `preset ${JSON.stringify(p?.id)} needs an id of lower-case letters, digits and dashes`;
      try {
        resolveHyperparameters(m as SslMethod, p.hyperparameters ?? {});
      } catch (err) {
        return `preset "${p.id}": ${(err as Error).message}`;
      }
    }
  }
  return undefined;
}

/** What an exporter plugin's activate() must return; the reason it is refused otherwise. */
export function validateExporter(candidate: unknown): string | undefined {
  const e = candidate as Partial<Exporter> | undefined;
  if (!e || typeof e !== 'object') return 'activate() returned no exporter object';
  if (!exportSubjects.includes(e.subject as never)) return `subject must be one of ${exportSubjects.join(', ')}`;
  if (typeof e.format !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(e.format)) return 'format must be a short id of lower-case letters, digits and dashes';
  if (e.output !== 'file' && e.output !== 'folder') return 'output must be "file" or "folder"';
  if (typeof e.write !== 'function') return 'write must be a function';
  if (e.sidecars !== undefined && (!Array.isArray(e.sidecars) || e.sidecars.some((x) => typeof x !== 'string' || !/^\.[a-z0-9.]+$/i.test(x)))) return 'sidecars must be extensions such as ".csv"';
  return undefined;
}

/** What an lf-generator plugin's activate() must return; the reason it is refused otherwise. */
export function validateLfGenerator(candidate: unknown): string | undefined {
  const g = candidate as Partial<LfGenerator> | undefined;
  if (!g || typeof g !== 'object') return 'activate() returned no generator object';
  if (typeof g.family !== 'string' || !g.family) return 'the generator needs a family name';
  if (typeof g.generate !== 'function') return 'generate must be a function';
  return undefined;
}

/** Checks the candidates a generator produced against the rows it was given. */
export function validateLfCandidates(candidates: unknown, rows: number, classes: number): string | undefined {
  if (!Array.isArray(candidates)) return 'generate() must return an array of candidates';
  const keys = new Set<string>();
  for (const c of candidates as Partial<LfCandidate>[]) {
    if (!c || typeof c.key !== 'string' || !c.key) return 'every candidate needs a key';
    if (keys.has(c.key)) return `duplicate candidate key "${c.key}"`;
    keys.add(c.key);
    if (typeof c.description !== 'string' || !c.description) return `candidate ${c.key} needs a description`;
    if (!Number.isInteger(c.classIndex) || c.classIndex! < 0 || c.classIndex! >= classes) return `candidate ${c.key} votes for class ${c.classIndex}, not one of the ${classes} classes`;
    if (!(c.fires instanceof Uint32Array)) return `candidate ${c.key}: fires must be a Uint32Array of row indices`;
    for (let i = 0; i < c.fires.length; i++) {
      if (c.fires[i]! >= rows || (i > 0 && c.fires[i]! <= c.fires[i - 1]!)) return `candidate ${c.key}: fires must be ascending row indices below ${rows}`;
    }
    if (c.margin !== undefined && (!(c.margin instanceof Float32Array) || c.margin.length !== c.fires.length)) return `candidate ${c.key}: margin must be a Float32Array as long as fires`;
  }
  return undefined;
}

/** Checks a plugin object against the contract; returns the reason it is refused, if any. */
export function validatePlugin(candidate: unknown): string | undefined {
  const p = candidate as Partial<Plugin> | undefined;
  if (!p || typeof p !== 'object') return 'the module exports no plugin object (export default { manifest, activate })';
  const m = manifestSchema.safeParse(p.manifest);
  if (!m.success) return `invalid manifest: ${m.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  if (m.data.apiVersion !== API_VERSION) return `written for plugin API ${m.data.apiVersion}, this Loupe speaks ${API_VERSION}`;
  if (typeof p.activate !== 'function') return 'activate is not a function';
  return undefined;
}

/**
 * Loads user plugins from a folder (one sub-folder per plugin, entry `index.js`/`index.mjs`).
 * A broken plugin is reported with its reason and skipped; it never stops the app.
 */
export async function loadUserPlugins(dir: string): Promise<{ loaded: LoadedPlugin[]; problems: PluginProblem[] }> {
  const loaded: LoadedPlugin[] = [];
  const problems: PluginProblem[] = [];
  if (!fs.existsSync(dir)) return { loaded, problems };
  for (const name of fs.readdirSync(dir)) {
    const folder = path.join(dir, name);
    const entry = ['index.mjs', 'index.js', 'index.ts'].map((f) => path.join(folder, f)).find((f) => fs.existsSync(f));
    if (!entry) {
      problems.push({ source: folder, reason: 'no index.mjs, index.js or index.ts' });
      continue;
    }
    try {
      const mod = (await import(pathToFileURL(entry).href)) as { default?: unknown };
      const reason = validatePlugin(mod.default);
      if (reason) problems.push({ source: folder, reason });
      else loaded.push({ plugin: mod.default as Plugin, source: folder });
    } catch (err) {
      problems.push({ source: folder, reason: `failed to load: ${(err as Error).message}` });
    }
  }
  return { loaded, problems };
}

/** The importers available, built-in first, keyed by plugin id. */
export function builtinImporters(extra: Plugin[] = []): Map<string, Importer> {
  const out = new Map<string, Importer>();
  for (const p of [...builtins, ...extra]) {
    if (p.manifest.kind !== 'importer') continue;
    out.set(p.manifest.id, p.activate(pluginContext(p.manifest.id)) as Importer);
  }
  return out;
}
