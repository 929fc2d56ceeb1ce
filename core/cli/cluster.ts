// `loupe cluster [project] --algo sk|sela|kmeans --k K [--heads H] [--sizes equal|found] [--run R] [--seed S] [--json]`:
// clusters the newest embedding of a finished run (embedding it first if needed) and prints the
// cluster sizes and, when the dataset has labels, NMI / ARI / Hungarian accuracy.
import { parseArgs } from 'node:util';
import { clusterEmbeddings } from '../cluster/run.ts';
import type { ClusterAlgo } from '../cluster/store.ts';
import type { ClusterSizes } from '../cluster/sela.ts';
import { LoupeError } from '../errors.ts';
import { Host } from '../host/host.ts';
import { defaultProjectDir, userDataDir } from '../paths.ts';
const print = (json: boolean, human: string, data: unknown) => console.log(json ? JSON.stringify(data) : human);

export async function runCluster(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { json: { type: 'boolean' }, algo: { type: 'string', default: 'sk' }, k: { type: 'string' }, heads: { type: 'string' }, run: { type: 'string' }, seed: { type: 'string' }, sizes: { type: 'string', default: 'equal' } },
  });
  const algo = values.algo as ClusterAlgo;
  if (!['sela', 'kmeans', 'sk'].includes(algo)) throw new LoupeError('invalid-input', `Unknown algorithm "${values.algo}".`, { hint: 'Use --algo sela, kmeans or sk.' });
  const sizes = values.sizes as ClusterSizes;
  if (!['equal', 'found'].includes(sizes)) throw new LoupeError('invalid-input', `Unknown cluster sizes "${values.sizes}".`, { hint: 'Use --sizes equal (balanced) or found (the sizes k-means finds).' });
  const int = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new LoupeError('invalid-input', `--${what} must be a whole number.`);
    return n;
  };
  const host = new Host({ projectDir: positionals[0] ?? defaultProjectDir(), userDir: userDataDir(), transport: 'http', create: false, autoResume: false });
  try {
    const runId = int(values.run, 'run');
    let k = int(values.k, 'k');
    if (k === undefined) {
      // Default: as many clusters as labelled classes, else 10.
      const classes = (host.project.db.prepare('SELECT COUNT(*) AS n FROM classes').get() as { n: number }).n;
      k = classes >= 2 ? classes : 10;
    }
    const json = !!values.json;
    const result = await clusterEmbeddings(host.project, { algo, k, ...(runId !== undefined ? { runId } : {}), heads: int(values.heads, 'heads') ?? 3, seed: int(values.seed, 'seed') ?? 0, sizes }, {
      progress: (done, total, m) => { if (!json && m?.phase && process.stderr.isTTY) process.stderr.write(`\r${m.phase} ${total ? `${done}/${total}` : ''}   `); },
    });
    if (!json && process.stderr.isTTY) process.stderr.write('\n');
    const s = result.scores;
    const human = [
      `Clustering #${result.clusteringId}: ${algo}, k = ${k}, ${result.seconds.toFixed(1)} s`,
      `Cluster sizes: ${[...result.sizes].sort((a, b) => b - a).join(', ')}`,
      s ? `Against the labels (${s.count} images): NMI ${s.nmi.toFixed(3)}, ARI ${s.ari.toFixed(3)}, accuracy ${(100 * s.accuracy).toFixed(1)}%`
        + (s.perHead ? `\nPer head NMI: ${s.perHead.map((h) => h.nmi.toFixed(3)).join(', ')}` : '') : 'No labels in this dataset: no scores.',
      'Open the Explore view (`loupe start`) to name, merge and split the clusters.',
    ].join('\n');
    print(json, human, result);
    return 0;
  } finally {
    host.close();
  }
}
