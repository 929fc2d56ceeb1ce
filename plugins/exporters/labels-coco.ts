// Labels as COCO-style classification JSON: images, categories, and one annotation per labelled
// image with its category, confidence ("score") and source. file_name is the path relative to the
// dataset folder (stored in info.image_root), as COCO tools expect.
import fs from 'node:fs';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'labels', format: 'coco', output: 'file', extension: '.json',
  description: 'COCO classification JSON: images, categories and one annotation per labelled image.',
  async write(sources, target) {
    const labels = sources.labels();
    const names = [...new Set(labels.map((l) => l.label))].sort();
    const categoryId = new Map(names.map((n, i) => [n, i + 1]));
    const coco = {
      info: { description: `Labels of ${sources.dataset.name}, exported by Loupe`, date_created: new Date().toISOString(), image_root: sources.dataset.root },
      licenses: [],
      categories: names.map((name) => ({ id: categoryId.get(name)!, name, supercategory: '' })),
      images: labels.map((l) => ({ id: l.id, file_name: l.relPath, width: l.width, height: l.height, path: l.path, split: l.split })),
      annotations: labels.map((l, i) => ({ id: i + 1, image_id: l.id, category_id: categoryId.get(l.label)!, score: l.confidence, source: l.source })),
    };
    fs.writeFileSync(target.file(), JSON.stringify(coco));
    return { count: labels.length, details: { categories: names.length } };
  },
};

export const labelsCocoExporter: Plugin<Exporter> = {
  manifest: { id: 'export-labels-coco', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Labels (COCO JSON)', description: exporter.description },
  activate: () => exporter,
};
