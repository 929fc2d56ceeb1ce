// `loupe plugin new <kind> <name> [--dir D]` scaffolds a working plugin (into the user plugins
// folder by default, where Loupe loads it); `loupe plugin check <folder>` loads and exercises one.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoupeError } from '../errors.ts';
import { userDataDir } from '../paths.ts';
import { checkPlugin } from '../plugins/check.ts';
import { scaffoldKinds, scaffoldPlugin } from '../plugins/scaffold.ts';

const loupeBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'loupe.mjs');

export async function runPlugin(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, dir: { type: 'string' } } });
  const [action, ...rest] = positionals;
  if (action === 'new') {
    const [kind, name] = rest;
    if (!kind || !name) throw new LoupeError('invalid-input', 'Usage: loupe plugin new <kind> <name> [--dir FOLDER]', { hint: `Kinds: ${scaffoldKinds.join(', ')}.` });
    const result = scaffoldPlugin(kind, name, values.dir ?? path.join(userDataDir(), 'plugins'), loupeBin);
    if (values.json) console.log(JSON.stringify(result));
    else console.log(`Created ${result.dir}\n${result.files.map((f) => `  ${path.basename(f)}`).join('\n')}\nTest it: cd ${JSON.stringify(result.dir)} && npm test`);
    return 0;
  }
  if (action === 'check') {
    const folder = rest[0];
    if (!folder) throw new LoupeError('invalid-input', 'Usage: loupe plugin check <plugin folder>');
    const report = await checkPlugin(folder);
    if (values.json) console.log(JSON.stringify(report));
    else console.log([...report.checks.map((c) => `✓ ${c}`), ...(report.ok ? ['Plugin OK.'] : [`✗ ${report.problem}`])].join('\n'));
    return report.ok ? 0 : 1;
  }
  throw new LoupeError('invalid-input', `Unknown plugin action "${action ?? ''}".`, { hint: 'Use loupe plugin new <kind> <name> or loupe plugin check <folder>.' });
}
