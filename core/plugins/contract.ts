import { z } from 'zod';
import type { SslToolkit } from '../engine/toolkit.ts';

/**
 * The one contract every plugin implements, built-in or third-party: a manifest plus
 * `activate(ctx)` returning what its kind provides. Bump API_VERSION on breaking changes.
 */
export const API_VERSION = 1;

export const pluginKinds = ['ssl-method', 'lf-generator', 'importer', 'exporter', 'encoder'] as const;
export type PluginKind = (typeof pluginKinds)[number];

export const manifestSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  kind: z.enum(pluginKinds),
  version: z.string().min(1),
  apiVersion: z.number().int(),
  name: z.string().min(1),
  description: z.string().default(''),
  citation: z.string().optional(),
});
export type PluginManifest = z.infer<typeof manifestSchema>;

export interface PluginContext {
  apiVersion: number;
  log(message: string): void;
  /** Loupe's TensorFlow.js (use it rather than your own copy: it carries the selected backend). */
  tf: typeof import('@tensorflow/tfjs');
  /** Building blocks for SSL methods: layers, views, losses, teacher helpers (docs/PLUGINS.md). */
  ssl: SslToolkit;
}

export interface Plugin<T = unknown> {
  manifest: PluginManifest;
  activate(ctx: PluginContext): T;
  dispose?(): void;
}

/** One file an importer proposes; `label` is the class it carries, if the source has one. */
export interface ImportEntry {
  abs: string;
  rel: string;
  size: number;
  mtimeMs: number;
  label?: string;
}

export type LabelSpec = { kind: 'none' } | { kind: 'folders' } | { kind: 'csv'; file: string };

export interface ImportListing {
  /** Files to decode and import. */
  images: ImportEntry[];
  /** Files in a known image format Loupe cannot read: recorded as failed, with the reason. */
  unsupported: ImportEntry[];
  /** Files passed over as not images (documents, hidden files). */
  ignored: number;
  /** Sub-folders that could not be read, with the reason. */
  unreadable: { path: string; reason: string }[];
}

export interface Importer {
  /** Lists what `source` holds; must not decode images (the engine does that, in parallel). */
  list(source: string, labels: LabelSpec, signal: AbortSignal): Promise<ImportListing>;
}
