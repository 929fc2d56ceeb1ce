// Direction LFs: "further along the way from class O to class X". Directions are differences of
// class prototypes (class vs the rest, and class vs each other class): the discriminant a linear
// model would find from so few examples. Each is cut at several projection thresholds.
import { coverageLevels, meanDirection, normalize, project, thresholdLfs } from '../../core/weak/geometry.ts';
import { API_VERSION, type LfCandidate, type LfGenerator, type Plugin } from '../../core/plugins/contract.ts';

const generator: LfGenerator = {
  family: 'direction',
  generate({ features, dim, classes, classSizes }) {
    const k = classes.length, levels = coverageLevels(classSizes);
    const protos = classes.map((c) => (c.examples.length ? meanDirection(features, dim, c.examples) : null));
    const out: LfCandidate[] = [];
    const along = (to: number, from: number[], key: string, what: string) => {
      const p = protos[to];
      const others = from.map((o) => protos[o]).filter((x): x is Float64Array => !!x);
      if (!p || others.length === 0) return;
      const d = Float64Array.from(p, (v, j) => v - others.reduce((s, o) => s + o[j]!, 0) / others.length);
      if (!normalize(d)) return;
      out.push(...thresholdLfs(project(features, dim, d), to, k, key, (t, n) => `${what} (the ${n} furthest images, projection ≥ ${t.toFixed(2)})`, undefined, levels));
    };
    for (const c of classes) {
      const rest = classes.filter((o) => o.index !== c.index).map((o) => o.index);
      along(c.index, rest, `dir:${c.index}:rest`, `Towards “${c.name}” and away from the other classes`);
      for (const o of rest) along(c.index, [o], `dir:${c.index}:${o}`, `Towards “${c.name}” rather than “${classes[o]!.name}”`);
    }
    return out;
  },
};

export const directionLfGenerator: Plugin<LfGenerator> = {
  manifest: { id: 'lf-direction', kind: 'lf-generator', version: '1.0.0', apiVersion: API_VERSION, name: 'Direction LFs', description: 'Fires far along the direction from one class’s examples to another’s.' },
  activate: () => generator,
};
