import fs from 'node:fs';
import path from 'node:path';

/** The list of recently opened projects, kept in the user data dir. */
export function readRecent(userDir: string): string[] {
  try {
    const list = JSON.parse(fs.readFileSync(path.join(userDir, 'recent.json'), 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberRecent(userDir: string, dir: string): string[] {
  const list = [dir, ...readRecent(userDir).filter((p) => p !== dir)].slice(0, 10);
  try {
    fs.mkdirSync(userDir, { recursive: true });
    fs.writeFileSync(path.join(userDir, 'recent.json'), JSON.stringify(list, null, 2));
  } catch {
    // The recent list is a convenience: failing to save it must not stop opening a project.
  }
  return list;
}
