import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { rendererDist } from '../core/cli/main.ts';
import { Host } from '../core/host/host.ts';
import { serve, type ServedHost } from '../core/server/http.ts';
import { buildCorpus, tempDir } from './helpers/corpus.ts';

let host: Host;
let served: ServedHost;

before(async () => {
  host = new Host({ projectDir: tempDir('srv'), userDir: tempDir('srv-user'), transport: 'http' });
  served = await serve(host, { staticDir: rendererDist });
});
after(async () => {
  await served.close();
  host.close();
});

/** A raw request, so tests can set Host and Origin headers as an attacker would. */
function request(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: served.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const auth = () => ({ authorization: `Bearer ${served.token}`, 'content-type': 'application/json' });

test('binds to loopback only', () => {
  assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test('API calls without the token, or with a wrong one, are refused', async () => {
  assert.equal((await request('/api/datasets.list', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 401);
  assert.equal((await request('/api/datasets.list', { method: 'POST', body: '{}', headers: { ...auth(), authorization: 'Bearer nope' } })).status, 401);
  assert.equal((await request('/', {})).status, 401, 'even the page needs the session');
  assert.equal((await request('/thumb/1', {})).status, 401);
  const ok = await request('/api/datasets.list', { method: 'POST', body: '{}', headers: auth() });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { result: [] });
});

test('requests from other origins or Host names are refused, even with the token', async () => {
  const evilOrigin = await request('/api/datasets.list', { method: 'POST', body: '{}', headers: { ...auth(), origin: 'http://evil.example' } });
  assert.equal(evilOrigin.status, 403);
  const lan = await request('/api/datasets.list', { method: 'POST', body: '{}', headers: { ...auth(), origin: 'http://192.168.1.20:8080' } });
  assert.equal(lan.status, 403);
  const rebinding = await request('/api/datasets.list', { method: 'POST', body: '{}', headers: { ...auth(), host: `evil.example:${served.port}` } });
  assert.equal(rebinding.status, 403);
  const sameOrigin = await request('/api/datasets.list', { method: 'POST', body: '{}', headers: { ...auth(), origin: served.url } });
  assert.equal(sameOrigin.status, 200);
});

test('the launch URL trades the token for an HttpOnly cookie; the page carries a strict CSP', async () => {
  const launch = await request(`/?token=${served.token}`);
  assert.equal(launch.status, 302);
  const cookie = String(launch.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const page = await request('/', { headers: { cookie: cookie.split(';')[0]! } });
  assert.equal(page.status, 200);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal((await request('/?token=wrong')).status, 401);
});

test('input is validated at the boundary with a clear message', async () => {
  const bad = await request('/api/images.query', { method: 'POST', body: JSON.stringify({ datasetId: 'x', offset: 0, limit: 10 }), headers: auth() });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error.message, /Invalid request to images.query: datasetId/);
  const unknown = await request('/api/fs.delete', { method: 'POST', body: '{}', headers: auth() });
  assert.equal(unknown.status, 400);
  const notJson = await request('/api/datasets.list', { method: 'POST', body: '{', headers: auth() });
  assert.equal(notJson.status, 400);
  const get = await request('/api/datasets.list', { headers: auth() });
  assert.equal(get.status, 405);
});

test('the event socket needs the token and pushes job progress', async () => {
  const refused = new WebSocket(`ws://127.0.0.1:${served.port}/events`);
  await new Promise<void>((resolve) => refused.on('error', () => resolve()));

  const ws = new WebSocket(`ws://127.0.0.1:${served.port}/events`, { headers: { authorization: `Bearer ${served.token}` } });
  await new Promise((r) => ws.on('open', r));
  const events: { type: string; job?: { state: string } }[] = [];
  ws.on('message', (m) => events.push(JSON.parse(String(m))));
  const corpus = await buildCorpus(tempDir('srv-corpus'));
  const start = await request('/api/import.start', { method: 'POST', body: JSON.stringify({ folder: corpus.root, labels: { kind: 'folders' } }), headers: auth() });
  assert.equal(start.status, 200, start.body);
  const { jobId } = JSON.parse(start.body).result;
  await host.jobs.waitFor(jobId);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(events.some((e) => e.type === 'job' && e.job?.state === 'done'));
  ws.close();

  const page = JSON.parse((await request('/api/images.query', { method: 'POST', body: JSON.stringify({ datasetId: 1, offset: 0, limit: 5, status: 'ok' }), headers: auth() })).body).result;
  const thumb = await request(`/thumb/${page.items[0].id}`, { headers: { authorization: `Bearer ${served.token}` } });
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers['content-type'], 'image/webp');
  const preview = await request(`/preview/${page.items[0].id}`, { headers: { authorization: `Bearer ${served.token}` } });
  assert.equal(preview.headers['content-type'], 'image/jpeg');
});
