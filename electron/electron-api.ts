/**
 * The slice of Electron's API that main.ts uses, typed here so the shell type-checks on
 * machines where the optional `electron` package (and its typings) could not be installed.
 */
export interface IpcMainInvokeEvent {
  senderFrame: { url: string; parent: unknown } | null;
}

export interface WebContents {
  send(channel: string, ...args: unknown[]): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' | 'allow' }): void;
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void }, url: string) => void): void;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void;
  isDestroyed(): boolean;
}

export interface BrowserWindowInstance {
  webContents: WebContents;
  loadURL(url: string): Promise<void>;
  on(event: 'closed', listener: () => void): void;
}

export interface ElectronApi {
  app: {
    whenReady(): Promise<void>;
    on(event: 'window-all-closed' | 'before-quit', listener: () => void): void;
    on(event: 'open-file', listener: (event: { preventDefault(): void }, file: string) => void): void;
    quit(): void;
    getPath(name: 'userData'): string;
  };
  BrowserWindow: new (options: {
    width: number;
    height: number;
    minWidth: number;
    minHeight: number;
    backgroundColor: string;
    title: string;
    show?: boolean;
    webPreferences: object;
  }) => BrowserWindowInstance;
  ipcMain: { handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void };
  protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  };
  session: {
    defaultSession: {
      setPermissionRequestHandler(handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
      setPermissionCheckHandler(handler: () => boolean): void;
    };
  };
}
