// `loupe split <project>`: training / validation / test splits of a dataset (core/store/splits.ts).
import { parseArgs } from 'node:util';
import { LoupeError } from '../errors.ts';
import { Host } from '../host/host.ts';
import { userDataDir } from '../paths.ts';
import { getDataset } from '../store/datasets.ts';
import type { SplitSummary } from '../store/splits.ts';
import { resolveDatasetId } from './train.ts';

export const splitUsage = 'loupe split <project> [--val 10] [--test 10] [--by-folder | --by-label] [--seed N] [--reshuffle | --clear | --show] [--dataset NAME] [--json]';

/** A percentage argument as a fraction. */
function percent(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const x = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(x) || x < 0 || x > 50) throw new LoupeError('invalid-input', `--${what} must be a percentage between 0 and 50, not "${value}".`);
  return x / 100;
}

function table(s: SplitSummary): string {
  const name = (c: string | null) => c ?? '(unlabelled)';
  const width = Math.max(8, ...s.classes.map((c) => name(c.className).length));
  const row = (label: string, c: { train: number; val: number; test: number; none: number }) =>
    `  ${label.padEnd(width)}  ${[c.train, c.val, c.test, c.none].map((n) => String(n).padStart(8)).join('')}`;
  return [`  ${''.padEnd(width)}  ${['training', 'valid.', 'test', 'none'].map((h) => h.padStart(8)).join('')}`,
    ...s.classes.map((c) => row(name(c.className), c)), row('all', s)].join('\n');
}

export async function runSplit(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      val: { type: 'string' }, test: { type: 'string' }, seed: { type: 'string' }, dataset: { type: 'string' },
      reshuffle: { type: 'boolean' }, 'by-folder': { type: 'boolean' }, 'by-label': { type: 'boolean' }, clear: { type: 'boolean' }, show: { type: 'boolean' }, json: { type: 'boolean' },
    },
  });
  if (!positionals[0]) throw new LoupeError('invalid-input', `Missing project folder. Usage: ${splitUsage}`);
  if ([values.reshuffle, values.clear, values.show].filter(Boolean).length > 1) throw new LoupeError('invalid-input', 'Give at most one of --reshuffle, --clear and --show.');
  const host = new Host({ projectDir: positionals[0], userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    const id = resolveDatasetId(host, values.dataset);
    const { name, settings } = getDataset(host.project.db, id);
    const json = !!values.json;
    if (values.clear) {
      const { cleared } = (await host.call('datasets.clearSplits', { id })) as { cleared: number };
      console.log(json ? JSON.stringify({ dataset: name, cleared }) : `Cleared the split of ${cleared} image(s) in "${name}".`);
      return 0;
    }
    if (values.show) {
      const summary = (await host.call('datasets.splits', { id })) as SplitSummary;
      console.log(json ? JSON.stringify({ dataset: name, ...summary }) : `Splits of "${name}":\n${table(summary)}`);
      return 0;
    }
    // Unless given, the shares, seed and grouping of the dataset's last split (10% / 10% by label the first time).
    const last = settings.split;
    const seed = values.seed === undefined ? last?.seed ?? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new LoupeError('invalid-input', `--seed must be a whole number ≥ 0, not "${values.seed}".`);
    const request = { id, val: percent(values.val, last?.val ?? 0.1, 'val'), test: percent(values.test, last?.test ?? 0.1, 'test'), seed, reshuffle: !!values.reshuffle,
      groupBy: values['by-folder'] ? 'folder' as const : values['by-label'] ? 'none' as const : last?.groupBy ?? 'none' };
    const { assigned, summary } = (await host.call('datasets.split', request)) as { assigned: number; summary: SplitSummary };
    if (json) console.log(JSON.stringify({ dataset: name, assigned, ...summary }));
    else {
      const kept = summary.train + summary.val + summary.test - assigned;
      const head = assigned === 0 && kept > 0
        ? `Every image of "${name}" already has a split and keeps it. To deal them again at these shares, add --reshuffle (results measured on the old validation and test images are then no longer comparable).`
        : `Dealt ${assigned} image(s) of "${name}" into splits, ${request.groupBy === 'folder' ? 'each folder whole' : 'stratified by label'}${kept > 0 ? `; ${kept} kept the split they had (--reshuffle deals all anew)` : ''}. Images imported later are dealt at the same shares.`;
      console.log(`${head}\n${table(summary)}`);
    }
    return 0;
  } finally {
    host.close();
  }
}
