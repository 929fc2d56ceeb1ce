// Bootstrap of the umap-js thread when Loupe runs from its TypeScript sources: registers tsx's
// loader in this thread (loaders do not carry over to workers), then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./umap-js-worker-main.ts');
