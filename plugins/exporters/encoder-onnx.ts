// The trained encoder as ONNX, for onnxruntime, PyTorch (onnx2torch), OpenCV DNN and friends.
import fs from 'node:fs';
import { encoderToOnnx } from '../../core/export/onnx.ts';
import { VERSION } from '../../core/version.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'encoder', format: 'onnx', output: 'file', extension: '.onnx',
  description: 'ONNX model (opset 17, dynamic batch): input "image" NCHW, output "embedding"; preprocessing in its metadata.',
  async write(sources, target) {
    const enc = sources.encoder();
    const bytes = encoderToOnnx({
      encoder: enc.config, tensors: enc.tensors, normalization: enc.normalization, producerVersion: VERSION,
      metadata: { 'loupe.method': enc.method, 'loupe.run': String(enc.runId), 'loupe.dataset': sources.dataset.name },
    });
    fs.writeFileSync(target.file(), bytes);
    return { count: enc.tensors.size, details: { bytes: bytes.length, runId: enc.runId, inputSize: enc.config.inputSize } };
  },
};

export const encoderOnnxExporter: Plugin<Exporter> = {
  manifest: { id: 'export-encoder-onnx', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Encoder (ONNX)', description: exporter.description },
  activate: () => exporter,
};
