/**
 * The UI's one client for the host API. The transport (Electron IPC through the preload bridge,
 * or HTTP + WebSocket in served mode) is picked once; views never know which.
 */
import type { ApiError, HostEvent, Input, Method, Output } from '../../../core/api/contract.ts';

export class HostError extends Error {
  constructor(readonly code: string, message: string, readonly hint?: string) {
    super(message);
  }
}

interface Bridge {
  call(method: string, input: unknown): Promise<{ result?: unknown; error?: ApiError }>;
  onEvent(cb: (event: HostEvent) => void): () => void;
}

declare global {
  interface Window {
    loupe?: Bridge;
  }
}

type Listener = (event: HostEvent) => void;
const listeners = new Set<Listener>();
export const connection = $state({ online: true });

function dispatch(event: HostEvent): void {
  for (const l of listeners) l(event);
}

const bridge = typeof window !== 'undefined' ? window.loupe : undefined;

if (bridge) bridge.onEvent(dispatch);
else if (typeof window !== 'undefined') {
  // Served mode: the session cookie rides along; reconnect with back-off if the host restarts.
  let delay = 500;
  const connect = () => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events`);
    ws.onopen = () => {
      delay = 500;
      connection.online = true;
    };
    ws.onmessage = (m) => dispatch(JSON.parse(String(m.data)) as HostEvent);
    ws.onclose = () => {
      connection.online = false;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
  };
  connect();
}

export async function call<M extends Method>(method: M, input: Input<M>): Promise<Output<M>> {
  let body: { result?: unknown; error?: ApiError };
  if (bridge) body = await bridge.call(method, input);
  else {
    const res = await fetch(`api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input), credentials: 'same-origin' });
    body = (await res.json().catch(() => ({ error: { code: 'internal', message: `The host answered ${res.status}.` } }))) as typeof body;
  }
  if (body.error) throw new HostError(body.error.code, body.error.message, body.error.hint);
  return body.result as Output<M>;
}

export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Thumbnails are named by content hash too, so a cached one never shows for another project's image. */
export function thumbUrl(imageId: number, hash: string | null): string {
  const v = hash ? `?v=${hash.slice(0, 16)}` : '';
  return bridge ? `loupe-media://thumb/${imageId}${v}` : `thumb/${imageId}${v}`;
}

export function previewUrl(imageId: number, hash: string | null): string {
  const v = hash ? `?v=${hash.slice(0, 16)}` : '';
  return bridge ? `loupe-media://preview/${imageId}${v}` : `preview/${imageId}${v}`;
}
