// Cluster LFs: "images of concept #k are class X". Each cluster of each clustering (k-means, SK,
// SeLa heads) proposes its members, and its most central half, for the three classes whose
// examples it resembles most; a cluster an expert named after a class proposes that class first.
// Three, not two: with 3 example images a class's mean is rough, and a pure cluster of a class
// that looks like two others often ranks it third (Fashion-MNIST, every cluster LF the expert
// would accept: end model 70.0% with two, 73.4% with three; a fourth and later never added one).
import { meanDirection, project } from '../../core/weak/geometry.ts';
import { API_VERSION, type LfCandidate, type LfGenerator, type Plugin } from '../../core/plugins/contract.ts';

const CLASSES_PER_CLUSTER = 3;

const generator: LfGenerator = {
  family: 'cluster',
  generate({ features, dim, classes, clusterings }) {
    const out: LfCandidate[] = [];
    const protos = classes.map((c) => (c.examples.length ? meanDirection(features, dim, c.examples) : null));
    for (const cl of clusterings) {
      const members: number[][] = Array.from({ length: cl.k }, () => []);
      cl.assignment.forEach((c, i) => { if (c >= 0 && c < cl.k) members[c]!.push(i); });
      members.forEach((rows, idx) => {
        if (rows.length === 0) return;
        const centre = meanDirection(features, dim, rows);
        if (!centre) return;
        const named = cl.names[idx] ? classes.find((c) => c.name === cl.names[idx]) : undefined;
        const ranked = classes.filter((c) => protos[c.index])
          .map((c) => ({ c, sim: protos[c.index]!.reduce((s, v, j) => s + v * centre[j]!, 0) }))
          .sort((a, b) => b.sim - a.sim).map((r) => r.c);
        const candidates = named ? [named, ...ranked.filter((c) => c !== named).slice(0, 1)] : ranked.slice(0, CLASSES_PER_CLUSTER);
        const score = project(features, dim, centre);
        const central = rows.slice().sort((a, b) => score[b]! - score[a]!).slice(0, Math.max(1, Math.ceil(rows.length / 2))).sort((a, b) => a - b);
        // Negative ids: clusterings computed for the session (core/weak/clusterings.ts), not stored ones.
        const label = cl.names[idx] ? `concept “${cl.names[idx]}”` : cl.id < 0 ? `group #${idx + 1} of ${cl.k} groups of similar images` : `concept #${idx + 1} of clustering ${cl.id}`;
        for (const c of candidates) {
          out.push({ key: `cluster:${cl.id}:${idx}:${c.index}:all`, description: `Images of ${label} (${rows.length} images) are “${c.name}”`, classIndex: c.index, fires: Uint32Array.from(rows.sort((a, b) => a - b)), group: `cluster:${cl.id}:${idx}` });
          if (central.length < rows.length) {
            out.push({ key: `cluster:${cl.id}:${idx}:${c.index}:core`, description: `The most central images of ${label} (${central.length}) are “${c.name}”`, classIndex: c.index, fires: Uint32Array.from(central), group: `cluster:${cl.id}:${idx}` });
          }
        }
      });
    }
    return out;
  },
};

export const clusterLfGenerator: Plugin<LfGenerator> = {
  manifest: { id: 'lf-cluster', kind: 'lf-generator', version: '1.0.0', apiVersion: API_VERSION, name: 'Cluster LFs', description: 'Fires on the members of a discovered concept.' },
  activate: () => generator,
};
