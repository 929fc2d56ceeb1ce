/**
 * Electron main process: a thin shell. It serves the built renderer from a privileged custom
 * scheme, forwards validated IPC calls to the host (core/), and pushes host events to the page.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Host } from '../core/host/host.ts';
import { defaultProjectDir, userDataDir } from '../core/paths.ts';
import { projectDirOf } from '../core/store/project.ts';
import type { ElectronApi } from './electron-api.ts';
import { APP_ORIGIN, CONTENT_SECURITY_POLICY, isAllowedNavigation, makeIpcHandler, MEDIA_SCHEME, resolveAppFile, secureWebPreferences } from './security.ts';

const electron = createRequire(import.meta.url)('electron') as ElectronApi;
const { app, BrowserWindow, ipcMain, protocol, session } = electron;
const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.resolve(here, '..', '..', 'renderer', 'dist');
const mimeTypes: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json' };

const bytes = (b: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(b);

protocol.registerSchemesAsPrivileged([
  { scheme: 'loupe', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true } },
]);

// The project to open: --project DIR, or a project.loupe / project folder the desktop passed
// (file association on Linux and Windows), or on macOS an 'open-file' event.
const argProject = process.argv.indexOf('--project');
const openedFile = process.argv.slice(1).find((a) => /\.loupe$/i.test(a));
let projectDir = argProject > 0 && process.argv[argProject + 1] ? process.argv[argProject + 1]! : openedFile ? projectDirOf(openedFile) : defaultProjectDir();
let openLater: ((dir: string) => void) | undefined;
app.on('open-file', (event, file) => {
  event.preventDefault();
  if (openLater) openLater(projectDirOf(file));
  else projectDir = projectDirOf(file);
});

app.whenReady().then(async () => {
  const host = new Host({ projectDir, userDir: userDataDir(), transport: 'electron' });
  openLater = (dir) => void host.call('project.open', { path: dir }).catch((err: Error) => console.error(`Cannot open ${dir}: ${err.message}`));
  await host.loadUserPlugins();
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  protocol.handle('loupe', async (request) => {
    const url = new URL(request.url);
    const file = isAllowedNavigation(request.url) ? resolveAppFile(rendererDir, url.pathname, path.join, path.sep) : undefined;
    if (!file || !fs.existsSync(file)) return new Response('Not found', { status: 404 });
    const headers: Record<string, string> = { 'content-type': mimeTypes[path.extname(file)] ?? 'application/octet-stream', 'x-content-type-options': 'nosniff' };
    if (file.endsWith('.html')) headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
    return new Response(bytes(await fs.promises.readFile(file)), { headers });
  });
  protocol.handle(MEDIA_SCHEME, async (request) => {
    const url = new URL(request.url);
    const id = Number(url.pathname.slice(1));
    if (!Number.isInteger(id) || id <= 0) return new Response('Bad request', { status: 400 });
    try {
      if (url.hostname === 'thumb') {
        const file = host.thumbnailFile(id);
        return file ? new Response(bytes(await fs.promises.readFile(file)), { headers: { 'content-type': 'image/webp' } }) : new Response('Not found', { status: 404 });
      }
      if (url.hostname === 'preview') {
        const preview = await host.preview(id);
        return new Response(bytes(preview.bytes), { headers: { 'content-type': preview.contentType } });
      }
    } catch (err) {
      return new Response((err as Error).message, { status: 404 });
    }
    return new Response('Not found', { status: 404 });
  });

  const handler = makeIpcHandler(host);
  ipcMain.handle('loupe:call', (event, method, input) => handler({ url: event.senderFrame?.url, isMainFrame: !event.senderFrame?.parent }, method, input));

  const win = new BrowserWindow({
    width: 1360, height: 880, minWidth: 900, minHeight: 600, backgroundColor: '#16181c', title: 'Loupe',
    webPreferences: secureWebPreferences(path.join(here, 'preload.cjs')),
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  win.webContents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());
  const forward = (e: unknown) => {
    if (!win.webContents.isDestroyed()) win.webContents.send('loupe:event', e);
  };
  host.on('event', forward);
  win.on('closed', () => host.off('event', forward));
  app.on('before-quit', () => host.close());
  await win.loadURL(`${APP_ORIGIN}/index.html`);
});

app.on('window-all-closed', () => app.quit());
