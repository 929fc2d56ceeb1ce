import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { asLoupeError, LoupeError } from '../errors.ts';
import type { Host } from '../host/host.ts';

export const TOKEN_COOKIE = 'loupe_token';
const MAX_BODY = 1 << 20;

const mime: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.webp': 'image/webp', '.json': 'application/json', '.woff2': 'font/woff2', '.ico': 'image/x-icon',
};

/** The page's security policy: our own scripts only, no inline script, connections back to this host only. */
export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface ServedHost {
  url: string;
  /** The address to open in a browser: sets the session cookie, then shows the app. */
  launchUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

function sameToken(a: string | undefined, b: string): boolean {
  if (!a || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * Serves the UI and the host API on 127.0.0.1 only. Every request must carry the per-launch
 * token (cookie, set by visiting the launch URL once, or a Bearer header), and the Host and Origin
 * headers must name this loopback address: that stops other users' pages, DNS rebinding and
 * other machines.
 */
export async function serve(host: Host, opts: { port?: number; staticDir: string; token?: string }): Promise<ServedHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const staticDir = path.resolve(opts.staticDir);
  let origin = '';
  let allowedHosts = new Set<string>();

  const authorised = (req: http.IncomingMessage): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return sameToken(bearer, token) || sameToken(cookie(req, TOKEN_COOKIE), token);
  };
  const loopbackRequest = (req: http.IncomingMessage): boolean => {
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) return false;
    const o = req.headers.origin;
    return o === undefined || allowedHosts.has(o.toLowerCase().replace(/^http:\/\//, ''));
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
    res.end(data);
  };
  const sendError = (res: http.ServerResponse, err: unknown) => {
    const e = asLoupeError(err);
    const status = { 'invalid-input': 400, 'not-found': 404, conflict: 409, unsupported: 422, cancelled: 409, 'disk-full': 507, io: 500, internal: 500 }[e.code];
    if (status >= 500) console.error(err);
    send(res, status, { error: e.toJSON() });
  };

  const readBody = (req: http.IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new LoupeError('invalid-input', 'Request too large.'));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
        } catch {
          reject(new LoupeError('invalid-input', 'The request body is not valid JSON.'));
        }
      });
      req.on('error', reject);
    });

  const serveStatic = (res: http.ServerResponse, urlPath: string) => {
    const rel = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath);
    const file = path.resolve(staticDir, `.${rel}`);
    const inside = file.startsWith(staticDir + path.sep);
    const target = inside && fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(staticDir, 'index.html');
    if (!fs.existsSync(target)) {
      send(res, 503, { error: { code: 'unsupported', message: 'The UI is not built.', hint: 'Run `npm run build` (the set-up command does it).' } });
      return;
    }
    const ext = path.extname(target);
    res.writeHead(200, {
      'content-type': mime[ext] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': ext === '.html' ? 'no-store' : 'max-age=3600',
      ...(ext === '.html' ? { 'content-security-policy': contentSecurityPolicy(origin), 'x-frame-options': 'DENY' } : {}),
    });
    fs.createReadStream(target).pipe(res);
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', origin);
      if (!loopbackRequest(req)) return send(res, 403, { error: { code: 'forbidden', message: 'Requests must come from this machine (loopback) to this address.' } });
      // The launch URL carries the token once; trade it for an HttpOnly cookie and drop it from the address bar.
      if (url.pathname === '/' && url.searchParams.has('token')) {
        if (!sameToken(url.searchParams.get('token') ?? undefined, token)) return send(res, 401, { error: { code: 'unauthorised', message: 'Wrong token.' } });
        res.writeHead(302, { location: '/', 'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' });
        return res.end();
      }
      if (!authorised(req)) return send(res, 401, { error: { code: 'unauthorised', message: 'Missing or wrong session token.', hint: 'Open Loupe with the address printed at start-up.' } });

      const api = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname);
      if (api) {
        if (req.method !== 'POST') return send(res, 405, { error: { code: 'invalid-input', message: 'Use POST.' } });
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, { error: { code: 'invalid-input', message: 'Send JSON.' } });
        const result = await host.call(api[1], await readBody(req));
        return send(res, 200, { result: result ?? null });
      }
      const media = /^\/(thumb|preview)\/(\d+)$/.exec(url.pathname);
      if (media && req.method === 'GET') {
        const imageId = Number(media[2]);
        if (media[1] === 'thumb') {
          const file = host.thumbnailFile(imageId);
          if (!file) return send(res, 404, { error: { code: 'not-found', message: 'No thumbnail.' } });
          // Revalidated each time (a redraw replaces the file under the same name); 304s are cheap on loopback.
          const st = fs.statSync(file);
          const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
          if (req.headers['if-none-match'] === etag) {
            res.writeHead(304, { etag, 'cache-control': 'private, no-cache' });
            return res.end();
          }
          res.writeHead(200, { 'content-type': 'image/webp', etag, 'cache-control': 'private, no-cache', 'x-content-type-options': 'nosniff' });
          return fs.createReadStream(file).pipe(res);
        }
        const preview = await host.preview(imageId);
        return send(res, 200, preview.bytes, { 'content-type': preview.contentType, 'cache-control': 'private, no-cache' });
      }
      if (req.method !== 'GET') return send(res, 405, { error: { code: 'invalid-input', message: 'Method not allowed.' } });
      return serveStatic(res, url.pathname);
    } catch (err) {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    if (!loopbackRequest(req) || !authorised(req) || new URL(req.url ?? '/', origin).pathname !== '/events') {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
    });
  });
  const forward = (event: unknown) => {
    const data = JSON.stringify(event);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(data);
  };
  host.on('event', forward);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    url: origin,
    launchUrl: `${origin}/?token=${token}`,
    token,
    port,
    close: async () => {
      host.off('event', forward);
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
