// Builds what the app runs: the renderer (Vite) and the Electron main + preload bundles (esbuild).
import { build as vite } from 'vite';
import { build as esbuild } from 'esbuild';
import { buildNative } from './build-native.mjs';

buildNative();

await vite({ configFile: 'vite.config.ts', logLevel: 'warn' });
const common = { bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning', sourcemap: true };
await esbuild({ ...common, entryPoints: ['electron/main.ts'], outfile: 'electron/dist/main.mjs', format: 'esm', external: ['electron'] });
await esbuild({ ...common, entryPoints: ['core/engine/train-worker-main.ts'], outfile: 'electron/dist/train-worker.mjs', format: 'esm' });
await esbuild({ ...common, entryPoints: ['core/cluster/umap-js-worker-main.ts'], outfile: 'electron/dist/umap-js-worker.mjs', format: 'esm' });
await esbuild({ ...common, entryPoints: ['electron/preload.ts'], outfile: 'electron/dist/preload.cjs', format: 'cjs', external: ['electron'] });
console.log('Built renderer/dist and electron/dist.');
