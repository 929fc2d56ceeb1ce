import fs from 'node:fs';
import path from 'node:path';
import { LoupeError } from '../errors.ts';
import { type Db, openDatabase } from './database.ts';

export const DB_FILE = 'loupe.db';
/** A small file in every project folder that desktops associate with Loupe (double-click opens the project). */
export const PROJECT_MARKER = 'project.loupe';

/** The project folder meant by a path the OS or a user hands Loupe: the folder, its project.loupe, or its loupe.db. */
export function projectDirOf(p: string): string {
  const abs = path.resolve(p);
  return /\.loupe$/i.test(abs) || path.basename(abs) === DB_FILE ? path.dirname(abs) : abs;
}

/**
 * A project is a folder: one SQLite file plus blob folders beside it (thumbnails, later
 * checkpoints and embedding matrices). Everything the user makes lives here.
 */
export class Project {
  readonly dir: string;
  readonly db: Db;

  private constructor(dir: string, db: Db) {
    this.dir = dir;
    this.db = db;
  }

  /** Opens an existing project, or creates it when `create` is set. */
  static open(dir: string, { create = false } = {}): Project {
    const abs = projectDirOf(dir);
    const dbFile = path.join(abs, DB_FILE);
    if (!fs.existsSync(dbFile)) {
      if (!create) {
        throw new LoupeError('not-found', `No Loupe project at ${abs}.`, { hint: 'Create one with `loupe init <folder>` or choose another folder.' });
      }
      if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
        throw new LoupeError('invalid-input', `${abs} is a file, not a folder.`, { hint: 'Choose an empty or new folder for the project.' });
      }
      fs.mkdirSync(abs, { recursive: true });
    }
    const db = openDatabase(dbFile);
    const project = new Project(abs, db);
    for (const sub of ['thumbs', 'checkpoints', 'embeddings', 'cache', 'tmp']) fs.mkdirSync(path.join(abs, sub), { recursive: true });
    const marker = path.join(abs, PROJECT_MARKER);
    if (!fs.existsSync(marker)) {
      try {
        fs.writeFileSync(marker, JSON.stringify({ format: 'loupe-project', version: 1, note: 'Open this file with Loupe to open the project folder it sits in.' }, null, 2));
      } catch {
        // A read-only project still opens; it just has no double-clickable marker.
      }
    }
    return project;
  }

  static exists(dir: string): boolean {
    return fs.existsSync(path.join(projectDirOf(dir), DB_FILE));
  }

  get name(): string {
    return path.basename(this.dir);
  }

  /** Where the thumbnail of an image with this content hash lives. */
  thumbPath(hash: string): string {
    return path.join(this.dir, 'thumbs', hash.slice(0, 2), `${hash}.webp`);
  }

  tmpPath(name: string): string {
    return path.join(this.dir, 'tmp', name);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
