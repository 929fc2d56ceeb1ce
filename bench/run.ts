/**
 * Benchmarks: `npm run bench -- <name> [options]`. Figures are printed as throughputs and ratios;
 * targets are stated beside them, never asserted in unit tests.
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  import: () => import('./import.ts'),
  grid: () => import('./grid.ts'),
  train: () => import('./train.ts'),
  methods: () => import('./methods.ts'),
  cluster: () => import('./cluster.ts'),
  iws: () => import('./iws.ts'),
};

const [name, ...args] = process.argv.slice(2);
if (!name || !benches[name]) {
  console.error(`Usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
await (await benches[name]!()).run(args);
