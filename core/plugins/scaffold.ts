// `loupe plugin new <kind> <name>`: writes a working plugin folder of any kind: index.mjs (the
// plugin, plain JavaScript with JSDoc types so it loads in the packaged app without a build step),
// test.mjs (node --test: its own behaviour, then `loupe plugin check` for the real integration),
// package.json and a README. The generated test passes as generated: edit from something working.
import fs from 'node:fs';
import path from 'node:path';
import { LoupeError } from '../errors.ts';
import { API_VERSION } from './contract.ts';

export const scaffoldKinds = ['ssl-method', 'lf-generator', 'importer', 'exporter'] as const;
export type ScaffoldKind = (typeof scaffoldKinds)[number];

const title = (id: string) => id.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');

function manifest(kind: ScaffoldKind, id: string, description: string): string {
  return `  manifest: {
    id: '${id}',
    kind: '${kind}',
    version: '0.1.0',
    apiVersion: ${API_VERSION},
    name: '${title(id)}',
    description: '${description}',
  },`;
}

const sources: Record<ScaffoldKind, (id: string) => string> = {
  'ssl-method': (id) => `// ${title(id)}: an SSL method plugin for Loupe (docs/PLUGINS.md, "An SSL method").
// Starting point: SimCLR's NT-Xent on a small projector. Loupe's engine owns data, augmentation,
// loop, optimiser, checkpoints and metrics; the method declares its views and its loss.

/** @type {{ manifest: object, activate(ctx: any): any }} */
export default {
${manifest('ssl-method', id, 'Contrast two augmented views of each image through a projector (NT-Xent).')}
  activate({ tf, ssl }) {
    return {
      id: '${id}',
      name: '${title(id)}',
      summary: 'Two views of an image attract, views of different images repel.',
      reference: 'Chen, Kornblith, Norouzi, Hinton. A Simple Framework for Contrastive Learning of Visual Representations. ICML 2020.',
      hyperparameters: [
        { key: 'temperature', label: 'Temperature', type: 'number', default: 0.2, min: 0.01, max: 1, help: 'Softmax temperature of NT-Xent.' },
        { key: 'projectionDim', label: 'Projection size', type: 'integer', default: 128, min: 8, max: 4096, help: 'Output size of the projector.' },
      ],
      defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 1e-6, batchSize: 128, epochs: 50, warmupEpochs: 2 },
      views: (size) => [ssl.views.simclrView(size), ssl.views.simclrView(size)],
      build({ params, rng, encoder, hp }) {
        const d = Number(hp.projectionDim);
        const projector = ssl.layers.mlp(params, rng, 'method/projector', [encoder.featureDim, d, d]);
        return {
          loss({ views, mode }) {
            const z = projector(encoder.apply(tf.concat(views), mode), mode);
            return ssl.losses.ntXent(z, Number(hp.temperature));
          },
        };
      },
    };
  },
};
`,
  'lf-generator': (id) => `// ${title(id)}: a labeling-function generator plugin for Loupe (docs/PLUGINS.md).
// Starting point: one LF per class and threshold, firing on the rows whose cosine similarity to
// the mean of the class's example rows is at least the threshold.

const thresholds = [0.5, 0.6, 0.7, 0.8, 0.9];

/** Mean of the given rows, normalised to unit length. */
function centroid(features, dim, rows) {
  const c = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) c[j] += features[r * dim + j];
  const norm = Math.hypot(...c) || 1;
  return c.map((v) => v / norm);
}

/** @type {{ manifest: object, activate(ctx: any): { family: string, generate(ctx: any): any[] } }} */
export default {
${manifest('lf-generator', id, 'Fires near the mean of each class’s example images, at several similarity thresholds.')}
  activate() {
    return {
      family: 'similarity',
      generate({ features, dim, imageIds, classes }) {
        const out = [];
        for (const cls of classes) {
          if (cls.examples.length === 0) continue;
          const c = centroid(features, dim, cls.examples);
          const sims = new Float32Array(imageIds.length);
          for (let i = 0; i < imageIds.length; i++) {
            let dot = 0;
            for (let j = 0; j < dim; j++) dot += features[i * dim + j] * c[j];
            sims[i] = dot;
          }
          for (const t of thresholds) {
            const rows = [];
            for (let i = 0; i < sims.length; i++) if (sims[i] >= t) rows.push(i);
            if (rows.length === 0) continue;
            out.push({
              key: \`sim:\${cls.index}:\${t}\`,
              description: \`Similar to the examples of “\${cls.name}” (cosine ≥ \${t})\`,
              classIndex: cls.index,
              fires: Uint32Array.from(rows),
              margin: Float32Array.from(rows, (i) => sims[i] - t),
            });
          }
        }
        return out;
      },
    };
  },
};
`,
  importer: (id) => `// ${title(id)}: an importer plugin for Loupe (docs/PLUGINS.md, "An importer").
// Starting point: a flat folder whose file names carry the class before the first underscore
// ("mitosis_0042.tif" → class "mitosis"). Loupe decodes the listed files itself, in parallel.
import fs from 'node:fs';
import path from 'node:path';

const imageExtensions = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp', '.bmp', '.gif']);

/** @type {{ manifest: object, activate(ctx: any): { list(source: string, labels: object, signal: AbortSignal): Promise<any> } }} */
export default {
${manifest('importer', id, 'A flat folder of images whose file names start with their class (class_rest.ext).')}
  activate() {
    return {
      async list(source, _labels, signal) {
        const images = [];
        let ignored = 0;
        for (const name of await fs.promises.readdir(source)) {
          if (signal.aborted) break;
          const abs = path.join(source, name);
          const stat = await fs.promises.stat(abs);
          if (!stat.isFile() || name.startsWith('.') || !imageExtensions.has(path.extname(name).toLowerCase())) {
            ignored++;
            continue;
          }
          const cut = name.indexOf('_');
          images.push({ abs, rel: name, size: stat.size, mtimeMs: stat.mtimeMs, ...(cut > 0 ? { label: name.slice(0, cut) } : {}) });
        }
        return { images, unsupported: [], ignored, unreadable: [] };
      },
    };
  },
};
`,
  exporter: (id) => `// ${title(id)}: an exporter plugin for Loupe (docs/PLUGINS.md, "An exporter").
// Starting point: labels as JSON Lines, one {"path", "label", "confidence", "source"} per line.
// Loupe validates the destination, stages the files and moves them into place when write() ends.
import fs from 'node:fs';

/** @type {{ manifest: object, activate(ctx: any): any }} */
export default {
${manifest('exporter', id, 'Labels as JSON Lines: one object per labelled image.')}
  activate() {
    return {
      subject: 'labels',
      format: '${id}',
      description: 'JSON Lines with path, label, confidence and source.',
      output: 'file',
      extension: '.jsonl',
      async write(sources, target) {
        const labels = sources.labels();
        const lines = labels.map((l) => JSON.stringify({ path: l.path, label: l.label, confidence: l.confidence, source: l.source }));
        fs.writeFileSync(target.file(), lines.join('\\n') + (lines.length ? '\\n' : ''));
        return { count: labels.length };
      },
    };
  },
};
`,
};

const ownTests: Record<ScaffoldKind, string> = {
  'ssl-method': `test('the manifest and hyper-parameters are declared', () => {
  assert.equal(plugin.manifest.kind, 'ssl-method');
  const method = plugin.activate({ tf: {}, ssl: { views: { simclrView: (size) => ({ size }) } } });
  assert.equal(method.id, plugin.manifest.id);
  assert.deepEqual(method.views(32).map((v) => v.size), [32, 32]);
  for (const h of method.hyperparameters) assert.ok(h.default >= h.min && h.default <= h.max, h.key);
});`,
  'lf-generator': `test('LFs fire on the rows near their class examples', () => {
  // Two tight groups of unit vectors in 2-D: rows 0–4 near (1, 0), rows 5–9 near (0, 1).
  const features = new Float32Array(20);
  for (let i = 0; i < 10; i++) {
    const a = (i < 5 ? 0 : Math.PI / 2) + (i % 5 - 2) * 0.05;
    features[2 * i] = Math.cos(a);
    features[2 * i + 1] = Math.sin(a);
  }
  const generator = plugin.activate({});
  const lfs = generator.generate({
    features, dim: 2, imageIds: Array.from({ length: 10 }, (_, i) => i + 1),
    classes: [{ index: 0, name: 'a', examples: [0, 1] }, { index: 1, name: 'b', examples: [5, 6] }], clusterings: [], random: Math.random,
  });
  assert.ok(lfs.length > 0);
  for (const lf of lfs) {
    const group = lf.classIndex === 0 ? [0, 1, 2, 3, 4] : [5, 6, 7, 8, 9];
    assert.ok([...lf.fires].every((r) => group.includes(r)), \`\${lf.key} fires only in its own group\`);
  }
});`,
  importer: `test('lists images with the class from the file name, and skips other files', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'importer-test-'));
  for (const name of ['cat_1.png', 'dog_2.jpg', 'nolabel.png', 'notes.txt']) fs.writeFileSync(path.join(dir, name), 'x');
  const listing = await plugin.activate({}).list(dir, { kind: 'none' }, new AbortController().signal);
  const byName = Object.fromEntries(listing.images.map((e) => [e.rel, e.label]));
  assert.deepEqual(byName, { 'cat_1.png': 'cat', 'dog_2.jpg': 'dog', 'nolabel.png': undefined });
  assert.equal(listing.ignored, 1);
});`,
  exporter: `test('writes one JSON line per label', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exporter-test-'));
  const file = path.join(dir, 'out.jsonl');
  const labels = [
    { path: '/data/a.png', label: 'cat', confidence: 1, source: 'human' },
    { path: '/data/b.png', label: 'dog', confidence: 0.8, source: 'label-model' },
  ];
  const exporter = plugin.activate({});
  const summary = await exporter.write({ labels: () => labels }, { file: () => file }, {}, { signal: new AbortController().signal, progress() {} });
  assert.equal(summary.count, 2);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, labels);
});`,
};

function testFile(kind: ScaffoldKind, loupeBin: string): string {
  return `// Run with: node --test   (or npm test)
// First the plugin's own behaviour, then \`loupe plugin check\`: Loupe loads this folder exactly as
// the app does and exercises the plugin for real. Set LOUPE_BIN to use another Loupe.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import plugin from './index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const loupe = process.env.LOUPE_BIN ?? ${JSON.stringify(loupeBin)};
void fs; void os;

${ownTests[kind]}

test('Loupe loads and runs the plugin (loupe plugin check)', { skip: !fs.existsSync(loupe) && \`no Loupe at \${loupe}\` }, () => {
  const r = spawnSync(process.execPath, [loupe, 'plugin', 'check', here, '--json'], { encoding: 'utf8' });
  const report = JSON.parse(r.stdout || '{}');
  assert.equal(report.ok, true, report.problem ?? r.stderr);
});
`;
}

export interface ScaffoldResult {
  dir: string;
  files: string[];
}

export function scaffoldPlugin(kind: string, name: string, parentDir: string, loupeBin: string): ScaffoldResult {
  if (!scaffoldKinds.includes(kind as ScaffoldKind)) {
    throw new LoupeError('invalid-input', `Cannot scaffold a plugin of kind "${kind}".`, { hint: `Kinds: ${scaffoldKinds.join(', ')}.` });
  }
  const id = name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new LoupeError('invalid-input', `"${name}" does not make a plugin id.`, { hint: 'Use letters, digits and dashes, e.g. my-method.' });
  const dir = path.resolve(parentDir, id);
  if (fs.existsSync(dir)) throw new LoupeError('conflict', `${dir} already exists.`, { hint: 'Choose another name or remove the folder.' });
  fs.mkdirSync(dir, { recursive: true });
  const k = kind as ScaffoldKind;
  const files: Record<string, string> = {
    'index.mjs': sources[k](id),
    'test.mjs': testFile(k, loupeBin),
    'package.json': JSON.stringify({ name: `loupe-plugin-${id}`, version: '0.1.0', private: true, type: 'module', main: 'index.mjs', scripts: { test: 'node --test test.mjs' } }, null, 2) + '\n',
    'README.md': `# ${title(id)}\n\nA Loupe \`${k}\` plugin. Loupe loads it from \`<user data>/plugins/${id}/\`.\n\n- \`index.mjs\`: the plugin (see docs/PLUGINS.md in Loupe for the contract).\n- \`npm test\`: its own tests, then \`loupe plugin check\` (Loupe loads and runs it as the app would).\n`,
  };
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return { dir, files: Object.keys(files).map((f) => path.join(dir, f)) };
}
