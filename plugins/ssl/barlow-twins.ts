// Barlow Twins (Zbontar et al., ICML 2021): make the cross-correlation matrix of the two views'
// batch-standardised embeddings the identity: invariant features, no redundancy between them.
import * as tf from '@tensorflow/tfjs';
import { simclrView } from '../../core/engine/augment.ts';
import type { SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';
import { barlowTwinsLoss } from './losses.ts';

export const barlowTwins: SslMethod = {
  id: 'barlow-twins',
  name: 'Barlow Twins',
  summary: 'Decorrelates embedding dimensions while making them agree across views. No negatives, no teacher.',
  reference: 'Zbontar, Jing, Misra, LeCun, Deny. Barlow Twins: Self-Supervised Learning via Redundancy Reduction. ICML 2021.',
  hyperparameters: [
    { key: 'lambda', label: 'Off-diagonal weight λ', type: 'number', default: 0.005, min: 0, max: 1, help: 'Weight of the redundancy-reduction term (5e-3 in the paper).' },
    { key: 'projectionDim', label: 'Projection size', type: 'integer', default: 512, min: 16, max: 8192, help: 'Width of the projector layers; larger helps in the paper.' },
  ],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 1e-6, batchSize: 128, epochs: 100, warmupEpochs: 5 },
  presets: [
    // A short CPU run learns faster at 3× Adam's usual rate (with simclrView's 32 px crops).
    { id: 'fast-cpu', settings: { learningRate: 3e-3 } },
    { id: 'quality-gpu', hyperparameters: { projectionDim: 2048 } },
  ],
  views: (size) => [simclrView(size), { ...simclrView(size), solarize: 0.2 }],
  build({ params, rng, encoder, hp }) {
    const d = Number(hp.projectionDim);
    const projector = mlp(params, rng, 'method/projector', [encoder.featureDim, d, d, d]);
    return {
      loss({ views, mode }) {
        const [a, b] = views as [tf.Tensor4D, tf.Tensor4D];
        const n = a.shape[0];
        const z = projector(encoder.apply(tf.concat([a, b]), mode), mode);
        const [z1, z2] = tf.split(z, [n, n]) as [tf.Tensor2D, tf.Tensor2D];
        return barlowTwinsLoss(z1, z2, Number(hp.lambda));
      },
    };
  },
};
