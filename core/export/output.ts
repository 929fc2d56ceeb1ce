// Where exports are written, safely. Everything is first written into a hidden staging folder
// beside the destination and moved into place only when complete, so a failure (full disk,
// cancel, a bug) leaves nothing half-written and the destination untouched. Names that come from
// the data (class names, file names) go through safeName/join, so no label or path can make an
// export write outside the folder the user chose. An existing destination is replaced only with
// explicit consent, and a folder only when it is a previous Loupe export (never a user folder).
import fs from 'node:fs';
import path from 'node:path';
import { asLoupeError, LoupeError } from '../errors.ts';

export const EXPORT_MARKER = '.loupe-export.json';

const reserved = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** A data-derived string as one safe path segment (portable across Windows, macOS, Linux). */
export function safeName(name: string, fallback = 'unnamed'): string {
  let s = name.normalize('NFC').replace(/[\u0000-\u001f\u007f<>:"/\\|?*]/g, '_').replace(/^[.\s]+|[.\s]+$/g, '');
  if (reserved.test(s)) s = `_${s}`;
  if (s.length > 120) s = s.slice(0, 120);
  return s || fallback;
}

export interface ExportOutputOptions {
  kind: 'file' | 'folder';
  /** Extensions of files written beside a file export (".csv" for the embeddings' row index). */
  sidecars?: string[];
  overwrite?: boolean;
}

export class StagedOutput {
  readonly final: string;
  private readonly stage: string;
  private committed = false;

  /** Throws the error the export would meet at its destination, without writing anything. */
  static check(destination: string, opts: ExportOutputOptions): void {
    void new StagedOutput(destination, opts, true);
  }

  constructor(destination: string, private readonly opts: ExportOutputOptions, checkOnly = false) {
    if (!destination || !destination.trim()) throw new LoupeError('invalid-input', 'Choose where to write the export.');
    this.final = path.resolve(destination);
    if (this.final === path.parse(this.final).root) throw new LoupeError('invalid-input', 'Exporting onto the root of a drive is refused; choose a folder.');
    for (const target of this.finals()) this.checkDestination(target);
    this.stage = path.join(path.dirname(this.final), `.${path.basename(this.final)}.partial-${process.pid}`);
    if (checkOnly) return;
    try {
      fs.mkdirSync(path.dirname(this.final), { recursive: true });
      fs.rmSync(this.stage, { recursive: true, force: true });
      fs.mkdirSync(this.stage);
    } catch (err) {
      throw asLoupeError(err, path.dirname(this.final));
    }
  }

  /** Final paths: the destination and, for a file export, its sidecars. */
  finals(): string[] {
    const base = this.final.replace(/\.[^./\\]+$/, '');
    return [this.final, ...(this.opts.kind === 'file' ? (this.opts.sidecars ?? []).map((ext) => base + ext) : [])];
  }

  private checkDestination(target: string): void {
    if (!fs.existsSync(target)) return;
    const isDir = fs.statSync(target).isDirectory();
    if (!this.opts.overwrite) {
      throw new LoupeError('conflict', `${target} already exists.`, { hint: 'Choose another name, or allow replacing it (--overwrite).' });
    }
    if (isDir && this.opts.kind === 'file') throw new LoupeError('conflict', `${target} is a folder; a file export will not replace it.`);
    if (isDir && fs.readdirSync(target).length > 0 && !fs.existsSync(path.join(target, EXPORT_MARKER))) {
      throw new LoupeError('conflict', `${target} is a folder that Loupe did not write; it will not be replaced.`, {
        hint: 'Choose a new or empty folder for the export.',
      });
    }
  }

  /** Where a file export writes its main file. */
  file(): string {
    if (this.opts.kind !== 'file') throw new Error('file() is for file exports');
    return path.join(this.stage, 'main');
  }

  /** Where a file export writes the sidecar with extension `ext` (declared in the options). */
  sidecar(ext: string): string {
    if (!(this.opts.sidecars ?? []).includes(ext)) throw new Error(`undeclared sidecar ${ext}`);
    return path.join(this.stage, `sidecar${ext}`);
  }

  /**
   * A path inside a folder export, from segments that may come from the data: each segment is
   * made safe, and the result is checked to stay inside the export (parents are created).
   */
  join(...segments: string[]): string {
    if (this.opts.kind !== 'folder') throw new Error('join() is for folder exports');
    for (const s of segments) {
      if (s === '..' || s === '.' || s.includes('/') || s.includes('\\') || path.isAbsolute(s)) {
        throw new LoupeError('invalid-input', `Refused to write "${s}": export paths must stay inside the chosen folder.`);
      }
    }
    const target = path.resolve(this.stage, ...segments);
    const rel = path.relative(this.stage, target);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new LoupeError('invalid-input', `Refused to write ${segments.join('/')}: export paths must stay inside the chosen folder.`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    return target;
  }

  /** Moves the finished export into place. */
  commit(manifest: Record<string, unknown>): string[] {
    try {
      if (this.opts.kind === 'folder') {
        fs.writeFileSync(path.join(this.stage, EXPORT_MARKER), JSON.stringify({ ...manifest, exportedAt: new Date().toISOString() }, null, 2));
        if (fs.existsSync(this.final)) fs.rmSync(this.final, { recursive: true });
        fs.renameSync(this.stage, this.final);
      } else {
        const [main, ...sidecars] = this.finals();
        fs.renameSync(this.file(), main!);
        (this.opts.sidecars ?? []).forEach((ext, i) => fs.renameSync(this.sidecar(ext), sidecars[i]!));
        fs.rmSync(this.stage, { recursive: true, force: true });
      }
      this.committed = true;
      return this.finals();
    } catch (err) {
      throw asLoupeError(err, path.dirname(this.final));
    }
  }

  /** Removes whatever was staged (after a failure or a cancel). */
  abort(): void {
    if (!this.committed) fs.rmSync(this.stage, { recursive: true, force: true });
  }
}
