// Desktop packaging, checked where Electron cannot be downloaded: the electron-builder config is
// validated against electron-builder's own schema, every file the app loads at run time is
// matched by the config's `files` globs (with electron-builder's own matcher and default
// exclusions), and every package the bundles import ships with the app.
import assert from 'node:assert/strict';
import { builtinModules, createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const root = path.resolve('.');
const config = JSON.parse(fs.readFileSync('build/electron-builder.json', 'utf8'));
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));

test('the electron-builder config is valid, targets Linux, macOS and Windows, and associates Loupe projects', async () => {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  const quietLogger = { isEnabled: false, add() {} };
  await validateConfiguration(structuredClone(config), quietLogger);
  await assert.rejects(validateConfiguration({ ...structuredClone(config), fileAssociation: [] }, quietLogger), /unknown property 'fileAssociation'/, 'the validator is real');

  assert.equal(config.appId, 'org.loupe.app');
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.equal(config.mac.target, 'dmg');
  assert.equal(config.win.target, 'nsis');
  assert.ok(config.fileAssociations.some((a: { ext: string }) => a.ext === 'loupe'), 'project.loupe opens in Loupe');
  for (const icon of new Set([config.linux.icon, config.mac.icon, config.win.icon])) {
    const meta = await sharp(icon).metadata();
    assert.ok(meta.width! >= 512 && meta.height === meta.width, `${icon} is a square of at least 512 px (macOS needs 512)`);
  }
  // Native modules are unpacked from the asar (they are loaded with dlopen) and rebuilt for Electron.
  for (const mod of ['native/', 'node_modules/better-sqlite3/', 'node_modules/sharp/']) {
    assert.ok(config.asarUnpack.some((p: string) => p.startsWith(mod)), `${mod} is unpacked`);
  }
  assert.notEqual(config.npmRebuild, false);
  assert.match(pkg.scripts.dist, /electron-builder --config build\/electron-builder\.json/);
  // electron-builder refuses electron among dependencies; optionalDependencies keep `npm ci` working offline.
  assert.ok(!pkg.dependencies.electron && pkg.optionalDependencies.electron);
});

test('every file the app loads at run time is packaged', () => {
  const { FileMatcher, excludedExts } = require('app-builder-lib/out/fileMatcher.js');
  const patterns = [...config.files, `!**/*.{${excludedExts},pdb}`];
  const filter = new FileMatcher(root, root, (s: string) => s, patterns).createFilter();
  const included = (rel: string) => {
    const abs = path.join(root, rel);
    // The matcher walks folders first: a file is packaged when every folder above it is entered too.
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = path.join(root, ...parts.slice(0, i));
      if (!filter(dir, fs.statSync(dir))) return false;
    }
    return filter(abs, fs.statSync(abs));
  };
  const renderer = fs.readdirSync('renderer/dist', { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.endsWith('.map'))
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)).split(path.sep).join('/'));
  assert.ok(renderer.includes('renderer/dist/index.html') && renderer.some((f) => f.endsWith('.js')));
  const runtime = [
    'package.json', pkg.main, 'electron/dist/preload.cjs', 'electron/dist/train-worker.mjs',
    'native/binding.gyp', 'native/build/Release/loupe_kernels.node', ...renderer,
  ];
  for (const file of runtime) {
    assert.ok(fs.existsSync(file), `${file} exists (npm run build makes it)`);
    assert.ok(included(file), `${file} is matched by build/electron-builder.json "files"`);
  }
  for (const file of ['electron/dist/main.mjs.map', 'core/host/host.ts', 'tests/export.test.ts', 'native/src/sinkhorn.cc']) {
    if (fs.existsSync(file)) assert.ok(!included(file), `${file} stays out of the installer`);
  }
});

test('every package the bundles import is a runtime dependency', () => {
  const allowed = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies)]);
  // Loaded only when the user installed them (they download libtensorflow), never shipped.
  const userInstalled = new Set(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);
  const builtins = new Set(builtinModules);
  const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  const seen = new Set<string>();
  for (const bundle of ['electron/dist/main.mjs', 'electron/dist/train-worker.mjs', 'electron/dist/preload.cjs']) {
    const code = fs.readFileSync(bundle, 'utf8');
    const specs = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["']([^"'./][^"']*)["']/gm)].map((m) => m[1]!);
    for (const spec of specs) {
      if (spec.startsWith('node:') || builtins.has(spec)) continue;
      const name = packageOf(spec);
      seen.add(name);
      if (userInstalled.has(name)) continue;
      assert.ok(allowed.has(name), `${bundle} imports ${spec}, but ${name} is not in dependencies or optionalDependencies (electron-builder leaves devDependencies out)`);
    }
  }
  for (const expected of ['@tensorflow/tfjs', 'better-sqlite3', 'sharp', 'electron']) assert.ok(seen.has(expected), `the scan finds ${expected}`);
});

test('a project folder carries project.loupe, and opening that file (a double-click) opens the project', async () => {
  const { Project, PROJECT_MARKER } = await import('../core/store/project.ts');
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'loupe-assoc-'));
  Project.open(dir, { create: true }).close();
  const marker = path.join(dir, PROJECT_MARKER);
  assert.equal(JSON.parse(fs.readFileSync(marker, 'utf8')).format, 'loupe-project');
  const reopened = Project.open(marker);
  assert.equal(reopened.dir, dir);
  reopened.close();
  assert.throws(() => Project.open(path.join(dir, 'nothing-here', PROJECT_MARKER)), /No Loupe project/);
});
