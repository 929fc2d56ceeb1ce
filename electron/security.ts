/**
 * Electron's security settings and guards, kept free of any Electron import so they are unit
 * tested where the Electron binary is absent. main.ts applies them.
 */
import type { ApiError } from '../core/api/contract.ts';
import { asLoupeError } from '../core/errors.ts';

/** The app's own origin: the renderer is served from this privileged custom scheme. */
export const APP_ORIGIN = 'loupe://app';
export const MEDIA_SCHEME = 'loupe-media';

export interface WebPreferences {
  preload: string;
  contextIsolation: boolean;
  sandbox: boolean;
  nodeIntegration: boolean;
  nodeIntegrationInWorker: boolean;
  nodeIntegrationInSubFrames: boolean;
  webSecurity: boolean;
  allowRunningInsecureContent: boolean;
  experimentalFeatures: boolean;
  webviewTag: boolean;
  navigateOnDragDrop: boolean;
  spellcheck: boolean;
}

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/** No remote content at all: scripts and connections only from the app itself. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' data: blob: ${MEDIA_SCHEME}:`,
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** The window may only ever show the app's own pages. */
export function isAllowedNavigation(url: string): boolean {
  try {
    // Node reports origin "null" for custom schemes, so compare scheme and host.
    const u = new URL(url);
    return u.protocol === 'loupe:' && u.host === 'app';
  } catch {
    return false;
  }
}

/** IPC calls are answered only for the app's own top-level page. */
export function isTrustedSender(frameUrl: string | undefined, isMainFrame: boolean): boolean {
  return isMainFrame && frameUrl !== undefined && isAllowedNavigation(frameUrl);
}

export interface IpcHost {
  call(method: unknown, input: unknown): Promise<unknown>;
}

export type IpcReply = { result: unknown } | { error: ApiError };

/**
 * The one IPC handler: checks who is asking, then lets the host validate method and input.
 * Errors travel as data (a rejected invoke would lose the hint).
 */
export function makeIpcHandler(host: IpcHost) {
  return async (sender: { url: string | undefined; isMainFrame: boolean }, method: unknown, input: unknown): Promise<IpcReply> => {
    if (!isTrustedSender(sender.url, sender.isMainFrame)) return { error: { code: 'forbidden', message: 'This page may not call Loupe.' } };
    try {
      return { result: (await host.call(method, input)) ?? null };
    } catch (err) {
      return { error: asLoupeError(err).toJSON() };
    }
  };
}

/** Maps a request path under the app origin to a file inside the renderer folder, or undefined. */
export function resolveAppFile(root: string, urlPath: string, join: (...p: string[]) => string, sep: string): string | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = join(root, rel);
  return file === root || file.startsWith(root + sep) ? file : undefined;
}
