/**
 * Preload (sandboxed): exposes exactly two functions to the page, nothing of Node or Electron.
 * Bundled to CommonJS, as sandboxed preloads require.
 */
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('loupe', {
  call: (method: string, input: unknown) => ipcRenderer.invoke('loupe:call', String(method), input),
  onEvent: (cb: (event: unknown) => void) => {
    const listener = (_e: unknown, event: unknown) => cb(event);
    ipcRenderer.on('loupe:event', listener);
    return () => ipcRenderer.removeListener('loupe:event', listener);
  },
});
