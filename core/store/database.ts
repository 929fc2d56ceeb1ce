import Database from 'better-sqlite3';
import { LoupeError } from '../errors.ts';
import { latestVersion, type Migration, migrations as allMigrations } from './migrations.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) a project database with the settings every connection needs:
 * WAL so readers never block the writer and a crash never corrupts, foreign keys on, and a busy
 * timeout so the CLI and the app can share one project.
 */
export function openDatabase(file: string, migrations: readonly Migration[] = allMigrations): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the schema up to date, one transaction per migration. */
export function migrate(db: Db, migrations: readonly Migration[] = allMigrations): void {
  const current = schemaVersion(db);
  const newest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  if (current > newest) {
    throw new LoupeError('unsupported', `This project was saved by a newer Loupe (schema ${current}; this version knows up to ${newest}).`, {
      hint: 'Update Loupe to open it. The project was not changed.',
    });
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

export { latestVersion };
