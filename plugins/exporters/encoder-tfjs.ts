// The trained encoder as a TensorFlow.js GraphModel folder (model.json + weights.bin).
import fs from 'node:fs';
import { encoderToTfjsGraph } from '../../core/export/tfjs-graph.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'encoder', format: 'tfjs', output: 'folder',
  description: 'TensorFlow.js GraphModel folder (tf.loadGraphModel): input "image" NHWC, output "embedding".',
  async write(sources, target) {
    const enc = sources.encoder();
    const model = encoderToTfjsGraph({
      encoder: enc.config, tensors: enc.tensors, normalization: enc.normalization,
      metadata: { method: enc.method, run: String(enc.runId), dataset: sources.dataset.name },
    });
    fs.writeFileSync(target.join('model.json'), JSON.stringify(model.modelJson));
    fs.writeFileSync(target.join('weights.bin'), model.weights);
    return { count: enc.tensors.size, details: { bytes: model.weights.length, runId: enc.runId } };
  },
};

export const encoderTfjsExporter: Plugin<Exporter> = {
  manifest: { id: 'export-encoder-tfjs', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Encoder (TensorFlow.js)', description: exporter.description },
  activate: () => exporter,
};
