import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Host } from '../core/host/host.ts';
import { APP_ORIGIN, CONTENT_SECURITY_POLICY, isAllowedNavigation, makeIpcHandler, resolveAppFile, secureWebPreferences } from '../electron/security.ts';
import { tempDir } from './helpers/corpus.ts';

test('the window runs isolated, sandboxed, without Node', () => {
  const prefs = secureWebPreferences('/app/preload.cjs');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.nodeIntegrationInSubFrames, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.webviewTag, false);
  // main.ts builds its window from exactly these preferences.
  const main = fs.readFileSync(path.resolve('electron/main.ts'), 'utf8');
  assert.match(main, /webPreferences: secureWebPreferences\(/);
  assert.match(main, /setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
});

test('the CSP allows no remote or inline script', () => {
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|https?:|\*/);
});

test('navigation is limited to the app origin', () => {
  assert.ok(isAllowedNavigation(`${APP_ORIGIN}/index.html`));
  for (const url of ['https://example.com', 'file:///etc/passwd', 'loupe://other/index.html', 'javascript:alert(1)', 'not a url']) assert.equal(isAllowedNavigation(url), false, url);
});

test('app files resolve inside the renderer folder only', () => {
  assert.equal(resolveAppFile('/r', '/index.html', path.join, '/'), '/r/index.html');
  assert.equal(resolveAppFile('/r', '/', path.join, '/'), '/r/index.html');
  assert.equal(resolveAppFile('/r', '/../../etc/passwd', path.join, '/'), undefined);
  assert.equal(resolveAppFile('/r', '/%2e%2e/secret', path.join, '/'), undefined);
});

test('IPC answers only the app page, and validates every call', async () => {
  const host = new Host({ projectDir: tempDir('ipc'), userDir: tempDir('ipc-user'), transport: 'electron' });
  const handle = makeIpcHandler(host);
  const app = { url: `${APP_ORIGIN}/index.html`, isMainFrame: true };
  assert.deepEqual(await handle(app, 'datasets.list', {}), { result: [] });
  assert.match(JSON.stringify(await handle({ url: 'https://evil.example/', isMainFrame: true }, 'datasets.list', {})), /forbidden/);
  assert.match(JSON.stringify(await handle({ url: app.url, isMainFrame: false }, 'datasets.list', {})), /forbidden/);
  const bad = (await handle(app, 'images.get', { id: -1 })) as { error: { code: string; message: string } };
  assert.equal(bad.error.code, 'invalid-input');
  const unknown = (await handle(app, 'shell.exec', {})) as { error: { message: string } };
  assert.match(unknown.error.message, /Unknown API method/);
  host.close();
});

test('the preload exposes only call and onEvent', () => {
  const src = fs.readFileSync(path.resolve('electron/preload.ts'), 'utf8');
  const exposed = [...src.matchAll(/exposeInMainWorld\('(\w+)'/g)].map((m) => m[1]);
  assert.deepEqual(exposed, ['loupe']);
  assert.doesNotMatch(src, /require\(|process\.|fs\b/);
});
