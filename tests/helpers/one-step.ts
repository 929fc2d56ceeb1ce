// Child-process helper: tiny seeded training steps on the backend named in argv[2] (argv[3] steps,
// default 2); prints the losses and parameter fingerprints as JSON (for cross-backend checks).
import { activateBackend, type BackendName } from '../../core/engine/backends/select.ts';
import { tinyRun } from './tiny-run.ts';

const active = await activateBackend(process.argv[2] as BackendName, { strict: true });
const result = await tinyRun(Number(process.argv[3] ?? 2));
console.log(JSON.stringify({ backend: active.name, device: active.device, ...result }));
