import fs from 'node:fs';
import path from 'node:path';
import { LoupeError } from '../../core/errors.ts';
import { parseCsv } from '../../core/export/csv.ts';
import { classify } from '../../core/images/formats.ts';
import { API_VERSION, type ImportEntry, type Importer, type ImportListing, type LabelSpec, type Plugin } from '../../core/plugins/contract.ts';

/** Parses a `path,label` CSV (header optional, quoted fields allowed) into a map keyed by relative path. */
export function parseLabelsCsv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  parseCsv(text.replace(/^\uFEFF/, '')).forEach((fields, i) => {
    if (fields.every((f) => !f.trim())) return;
    const [p, label] = fields.map((f) => f.trim());
    if (i === 0 && p?.toLowerCase() === 'path' && label?.toLowerCase() === 'label') return;
    if (!p || label === undefined) throw new LoupeError('invalid-input', `Labels CSV line ${i + 1} needs two columns: path,label.`);
    if (label) out.set(p.split(path.sep).join('/').replace(/^\.\//, ''), label);
  });
  return out;
}

async function walk(root: string, signal: AbortSignal, listing: ImportListing): Promise<void> {
  const stack = [root];
  while (stack.length) {
    if (signal.aborted) return;
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (err) {
      listing.unreadable.push({ path: dir, reason: (err as Error).message });
      continue;
    }
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) stack.push(abs);
        continue;
      }
      // Symlinked files are followed; symlinked folders are not (no cycles).
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      const kind = classify(e.name);
      if (kind === 'ignore') {
        listing.ignored++;
        continue;
      }
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(abs);
      } catch (err) {
        listing.unreadable.push({ path: abs, reason: (err as Error).message });
        continue;
      }
      if (!st.isFile()) continue;
      const entry: ImportEntry = { abs, rel: path.relative(root, abs).split(path.sep).join('/'), size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
      (kind === 'image' ? listing.images : listing.unsupported).push(entry);
    }
  }
}

/** Top-level folder names of the usual split layout (train/<class>/x.jpg, val/…, test/…). */
const SPLIT_FOLDERS: Record<string, 'train' | 'val' | 'test'> = { train: 'train', training: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test', testing: 'test' };

/**
 * The split of each file when the folder is laid out by split: a training folder and a validation
 * or test folder at the top. One lone "test" folder is not taken for a split (it may be anything).
 */
export function splitsFromLayout(rels: string[]): (('train' | 'val' | 'test') | undefined)[] {
  const top = rels.map((rel) => (rel.includes('/') ? SPLIT_FOLDERS[rel.slice(0, rel.indexOf('/')).toLowerCase()] : undefined));
  const found = new Set(top);
  return found.has('train') && (found.has('val') || found.has('test')) ? top : rels.map(() => undefined);
}

/** Imports a folder recursively; labels from ImageNet-style sub-folder names or a CSV; splits from train/val/test folders. */
export const folderImporter: Plugin<Importer> = {
  manifest: {
    id: 'folder',
    kind: 'importer',
    version: '1.0.0',
    apiVersion: API_VERSION,
    name: 'Folder',
    description: 'Every image under a folder, recursively. Labels from sub-folder names (class/image.jpg) or a path,label CSV; splits from train / val / test folders at the top.',
  },
  activate: () => ({
    async list(source: string, labels: LabelSpec, signal: AbortSignal): Promise<ImportListing> {
      const root = path.resolve(source);
      const st = await fs.promises.stat(root).catch(() => undefined);
      if (!st?.isDirectory()) throw new LoupeError('not-found', `Folder not found: ${root}`, { hint: 'Check the path; Loupe imports folders, not single files.' });
      const listing: ImportListing = { images: [], unsupported: [], ignored: 0, unreadable: [] };
      await walk(root, signal, listing);
      const byName = (a: ImportEntry, b: ImportEntry) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0);
      listing.images.sort(byName);
      listing.unsupported.sort(byName);
      const splits = splitsFromLayout(listing.images.map((e) => e.rel));
      listing.images.forEach((e, i) => { if (splits[i]) e.split = splits[i]; });
      if (labels.kind === 'folders') {
        for (const e of listing.images) {
          const parts = e.rel.split('/');
          // The class is the folder the file is in, unless that is its split's folder (train/x.jpg).
          if (parts.length > 1 && !(e.split && parts.length === 2)) e.label = parts[parts.length - 2];
        }
      } else if (labels.kind === 'csv') {
        const text = await fs.promises.readFile(labels.file, 'utf8').catch((err) => {
          throw new LoupeError('not-found', `Cannot read the labels CSV: ${labels.file}`, { cause: err });
        });
        const map = parseLabelsCsv(text);
        for (const e of listing.images) {
          const label = map.get(e.rel) ?? map.get(e.abs) ?? map.get(path.basename(e.rel));
          if (label) e.label = label;
        }
      }
      return listing;
    },
  }),
};
