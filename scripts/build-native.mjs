// Compiles Loupe's native kernel library (native/) with node-gyp when it is missing or older than
// its sources. A failed build is a warning, not an error: training then falls back to the wasm
// backend, and `loupe backends` says why the native one is unavailable.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const nativeDir = path.join(root, 'native');
const output = path.join(nativeDir, 'build', 'Release', 'loupe_kernels.node');

function newestSource() {
  const files = [path.join(nativeDir, 'binding.gyp'), ...readdirSync(path.join(nativeDir, 'src')).map((f) => path.join(nativeDir, 'src', f))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

// Node's own headers when the installation has them, so nothing is downloaded.
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

export function buildNative({ force = false } = {}) {
  if (!force && existsSync(output) && statSync(output).mtimeMs >= newestSource()) return true;
  const gyp = nodeGyp();
  if (!gyp) {
    console.warn('loupe: node-gyp not found; the native CPU kernels were not built (training will use wasm).');
    return false;
  }
  const args = [gyp, 'rebuild', `--directory=${nativeDir}`, `--jobs=max`];
  const dir = nodeDir();
  if (dir) args.push(`--nodedir=${dir}`);
  try {
    execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    console.log('Built native/build/Release/loupe_kernels.node.');
    return true;
  } catch (err) {
    const detail = String(err.stderr ?? err.message).split('\n').filter((l) => /error/i.test(l)).slice(0, 5).join('\n');
    console.warn(`loupe: the native CPU kernels did not build (training will use wasm):\n${detail}`);
    return false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) buildNative({ force: process.argv.includes('--force') });
