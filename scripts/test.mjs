// The test command: type-check, build the UI if needed, then every test file with node's runner.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const bin = (name) => path.join('node_modules', '.bin', name);

console.log('» type-check');
run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
run(bin('svelte-check'), ['--tsconfig', './renderer/tsconfig.json', '--threshold', 'error', '--output', 'human']);
console.log('» build');
run(process.execPath, ['scripts/build.mjs']);
const files = fs.readdirSync('tests').filter((f) => f.endsWith('.test.ts')).map((f) => path.join('tests', f)).sort();
console.log(`» tests (${files.length} files)`);
run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]);
