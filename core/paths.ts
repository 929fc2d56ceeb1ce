import os from 'node:os';
import path from 'node:path';

/** The per-user folder where Loupe keeps its default project and settings. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.LOUPE_HOME) return path.resolve(env.LOUPE_HOME);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Loupe');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Loupe');
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'loupe');
}

export function defaultProjectDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDataDir(env), 'default-project');
}

/** Folder for user-installed plugins. */
export function userPluginsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDataDir(env), 'plugins');
}
