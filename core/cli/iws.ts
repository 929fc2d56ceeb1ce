// `loupe iws simulate <project> --queries N [--noise p] [--acq straddle|random] [--accepted-only] [--json]`: runs
// interactive weak supervision with a simulated expert who answers from the project's true labels
// (useful ⇔ the LF's accuracy on its coverage > 0.7), and prints, per number of answers, the label
// model's and end model's accuracy and coverage. The label model uses the accepted rules and those
// the ensemble predicts good, as a new session in the app does; --accepted-only: the accepted ones
// alone (finalLfs' 'validated'), as the app's option turned off.
import { parseArgs } from 'node:util';
import { activateBackend } from '../engine/backends/select.ts';
import { LoupeError } from '../errors.ts';
import { Host } from '../host/host.ts';
import { defaultProjectDir, userDataDir } from '../paths.ts';
import { simulationDataFor } from '../weak/data.ts';
import { simulateIws } from '../weak/simulate.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function runIws(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { json: { type: 'boolean' }, queries: { type: 'string', default: '50' }, noise: { type: 'string', default: '0' }, acq: { type: 'string', default: 'straddle' }, run: { type: 'string' }, seed: { type: 'string', default: '0' }, 'self-training': { type: 'string', default: '0' }, 'accepted-only': { type: 'boolean' } },
  });
  const [action, projectDir] = positionals;
  if (action !== 'simulate') throw new LoupeError('invalid-input', `Unknown iws action "${action ?? ''}".`, { hint: 'loupe iws simulate <project> --queries 50' });
  const queries = Number(values.queries), noise = Number(values.noise), seed = Number(values.seed);
  if (!Number.isInteger(queries) || queries < 1) throw new LoupeError('invalid-input', '--queries must be a whole number ≥ 1.');
  if (!(noise >= 0 && noise <= 1)) throw new LoupeError('invalid-input', '--noise must be between 0 and 1.');
  if (values.acq !== 'straddle' && values.acq !== 'random') throw new LoupeError('invalid-input', '--acq must be straddle or random.');
  const host = new Host({ projectDir: projectDir ?? defaultProjectDir(), userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    await activateBackend();
    const data = await simulationDataFor(host.project, { ...(values.run ? { runId: Number(values.run) } : {}), seed });
    const checkpoints = [...new Set([10, 25, 50, 100, 150, 200].filter((q) => q < queries).concat(queries))];
    const json = !!values.json;
    const finalSet = values['accepted-only'] ? 'validated' : 'validated+predicted';
    const result = await simulateIws(data, {
      queries: checkpoints, acquisition: values.acq, noise, seed, selfTraining: Number(values['self-training']), finalSet,
      onProgress: (d, t) => { if (!json && process.stderr.isTTY) process.stderr.write(`\rAnswering LF ${d}/${t}   `); },
    });
    if (!json && process.stderr.isTTY) process.stderr.write('\n');
    if (json) {
      console.log(JSON.stringify({ runId: data.runId, classes: data.classNames.length, train: data.train.length, test: data.test.length, acquisition: values.acq, noise, finalSet, ...result }));
      return 0;
    }
    console.log(`Run ${data.runId}: ${data.classNames.length} classes, ${data.train.length} training / ${data.test.length} held-out images; ${result.candidates} candidate LFs (${result.proposed} proposed); ${values.acq} acquisition, noise ${noise}.`);
    console.log('answers  accepted  LFs used  label model acc (coverage)  majority vote acc (coverage)  end model acc');
    for (const p of result.points) {
      console.log(`${String(p.queries).padStart(7)}  ${String(p.accepted).padStart(8)}  ${String(p.lfsUsed).padStart(8)}  ${`${pct(p.labelModel.accuracy)} (${pct(p.labelModel.coverage)})`.padStart(26)}  ${`${pct(p.majorityVote.accuracy)} (${pct(p.majorityVote.coverage)})`.padStart(28)}  ${pct(p.endModel).padStart(13)}`);
    }
    console.log(`${result.seconds.toFixed(1)} s`);
    return 0;
  } finally {
    host.close();
  }
}
