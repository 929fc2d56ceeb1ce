// Nearest-labelled-neighbour LFs: "the closest example image is of class X", cut at several
// similarity levels to that nearest example.
import { coverageLevels, project, thresholdLfs } from '../../core/weak/geometry.ts';
import { API_VERSION, type LfCandidate, type LfGenerator, type Plugin } from '../../core/plugins/contract.ts';

const generator: LfGenerator = {
  family: 'neighbor',
  generate({ features, dim, classes, classSizes }) {
    const n = features.length / dim, k = classes.length, levels = coverageLevels(classSizes);
    const examples = classes.flatMap((c) => c.examples.map((row) => ({ row, cls: c.index })));
    if (examples.length === 0) return [];
    const best = new Float32Array(n).fill(-Infinity), bestClass = new Int32Array(n).fill(-1);
    for (const e of examples) {
      const s = project(features, dim, features.subarray(e.row * dim, (e.row + 1) * dim));
      for (let i = 0; i < n; i++) if (s[i]! > best[i]!) (best[i] = s[i]!), (bestClass[i] = e.cls);
    }
    const out: LfCandidate[] = [];
    for (const c of classes) {
      const eligible = Uint8Array.from(bestClass, (b) => (b === c.index ? 1 : 0));
      out.push(...thresholdLfs(best, c.index, k, `nn:${c.index}`, (t, count) => `The nearest example image is “${c.name}” (${count} images, cosine ≥ ${t.toFixed(2)})`, eligible, levels));
    }
    return out;
  },
};

export const neighborLfGenerator: Plugin<LfGenerator> = {
  manifest: { id: 'lf-neighbor', kind: 'lf-generator', version: '1.0.0', apiVersion: API_VERSION, name: 'Nearest-example LFs', description: 'Fires where the nearest example image is of the class.' },
  activate: () => generator,
};
