// Prototype LFs: "close to the examples of class X". One prototype per class (the mean of its
// example images) and one per example image, each cut at several similarity radii.
import { coverageLevels, meanDirection, project, thresholdLfs } from '../../core/weak/geometry.ts';
import { API_VERSION, type LfCandidate, type LfGenerator, type Plugin } from '../../core/plugins/contract.ts';

const generator: LfGenerator = {
  family: 'prototype',
  generate({ features, dim, classes, classSizes }) {
    const out: LfCandidate[] = [];
    const k = classes.length, levels = coverageLevels(classSizes);
    for (const cls of classes) {
      if (cls.examples.length === 0) continue;
      const centre = meanDirection(features, dim, cls.examples);
      if (centre) {
        out.push(...thresholdLfs(project(features, dim, centre), cls.index, k, `centroid:${cls.index}`,
          (t, n) => `Like the examples of “${cls.name}” on average (the ${n} most similar images, cosine ≥ ${t.toFixed(2)})`, undefined, levels));
      }
      if (cls.examples.length > 1) {
        for (const row of cls.examples) {
          out.push(...thresholdLfs(project(features, dim, features.subarray(row * dim, (row + 1) * dim)), cls.index, k, `example:${cls.index}:${row}`,
            (t, n) => `Like one example of “${cls.name}” (the ${n} most similar images, cosine ≥ ${t.toFixed(2)})`, undefined, levels));
        }
      }
    }
    return out;
  },
};

export const prototypeLfGenerator: Plugin<LfGenerator> = {
  manifest: { id: 'lf-prototype', kind: 'lf-generator', version: '1.0.0', apiVersion: API_VERSION, name: 'Prototype LFs', description: 'Fires near the examples of a class, at several radii.' },
  activate: () => generator,
};
