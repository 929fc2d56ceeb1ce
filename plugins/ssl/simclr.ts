// SimCLR (Chen et al., ICML 2020): two augmented views per image, a projector MLP, and NT-Xent
// over the 2N projections of the batch; every other image in the batch is a negative.
import * as tf from '@tensorflow/tfjs';
import { simclrView } from '../../core/engine/augment.ts';
import type { SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';
import { ntXent } from './losses.ts';

export const simclr: SslMethod = {
  id: 'simclr',
  name: 'SimCLR',
  summary: 'Contrastive: pulls two views of an image together and pushes the rest of the batch away. Likes large batches.',
  reference: 'Chen, Kornblith, Norouzi, Hinton. A Simple Framework for Contrastive Learning of Visual Representations. ICML 2020.',
  hyperparameters: [
    { key: 'temperature', label: 'Temperature τ', type: 'number', default: 0.2, min: 0.01, max: 2, help: 'Softmax temperature of NT-Xent; 0.1–0.5 work well, lower is sharper.' },
    { key: 'projectionDim', label: 'Projection size', type: 'integer', default: 128, min: 16, max: 4096, help: 'Output size of the projector the loss is computed on.' },
    { key: 'hiddenDim', label: 'Projector hidden size', type: 'integer', default: 512, min: 16, max: 8192, help: 'Width of the projector\'s hidden layer.' },
  ],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 1e-6, batchSize: 128, epochs: 100, warmupEpochs: 5 },
  presets: [
    // A short CPU run learns faster at 3× Adam's usual rate (with simclrView's 32 px crops).
    { id: 'fast-cpu', settings: { learningRate: 3e-3 }, hyperparameters: { temperature: 0.2 } },
    { id: 'quality-gpu', hyperparameters: { hiddenDim: 2048, temperature: 0.1 } },
  ],
  views: (size) => [simclrView(size), simclrView(size)],
  build({ params, rng, encoder, hp }) {
    const projector = mlp(params, rng, 'method/projector', [encoder.featureDim, Number(hp.hiddenDim), Number(hp.projectionDim)]);
    return {
      loss({ views, mode }) {
        const [a, b] = views as [tf.Tensor4D, tf.Tensor4D];
        const z = projector(encoder.apply(tf.concat([a, b]), mode), mode);
        return ntXent(z, Number(hp.temperature));
      },
    };
  },
};
