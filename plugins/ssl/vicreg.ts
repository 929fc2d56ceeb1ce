// VICReg (Bardes, Ponce, LeCun, ICLR 2022): invariance between views, a variance hinge that keeps
// every dimension alive, and a covariance penalty that decorrelates them; weights 25/25/1.
import * as tf from '@tensorflow/tfjs';
import { simclrView } from '../../core/engine/augment.ts';
import type { SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';
import { vicregLoss } from './losses.ts';

export const vicreg: SslMethod = {
  id: 'vicreg',
  name: 'VICReg',
  summary: 'Variance, invariance and covariance terms: explicit, inspectable guards against collapse.',
  reference: 'Bardes, Ponce, LeCun. VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning. ICLR 2022.',
  hyperparameters: [
    { key: 'simWeight', label: 'Invariance weight λ', type: 'number', default: 25, min: 0, max: 100, help: 'Weight of the mean squared distance between the views.' },
    { key: 'stdWeight', label: 'Variance weight μ', type: 'number', default: 25, min: 0, max: 100, help: 'Weight of the hinge keeping each dimension\'s std at 1.' },
    { key: 'covWeight', label: 'Covariance weight ν', type: 'number', default: 1, min: 0, max: 100, help: 'Weight of the off-diagonal covariance penalty.' },
    { key: 'projectionDim', label: 'Projection size', type: 'integer', default: 512, min: 16, max: 8192, help: 'Width of the expander layers.' },
  ],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 1e-6, batchSize: 128, epochs: 100, warmupEpochs: 5 },
  presets: [
    // A short CPU run learns faster at 3× Adam's usual rate (with simclrView's 32 px crops).
    { id: 'fast-cpu', settings: { learningRate: 3e-3 } },
    { id: 'quality-gpu', hyperparameters: { projectionDim: 2048 } },
  ],
  views: (size) => [simclrView(size), { ...simclrView(size), solarize: 0.1 }],
  build({ params, rng, encoder, hp }) {
    const d = Number(hp.projectionDim);
    const expander = mlp(params, rng, 'method/expander', [encoder.featureDim, d, d, d]);
    return {
      loss({ views, mode }) {
        const [a, b] = views as [tf.Tensor4D, tf.Tensor4D];
        const n = a.shape[0];
        const z = expander(encoder.apply(tf.concat([a, b]), mode), mode);
        const [z1, z2] = tf.split(z, [n, n]) as [tf.Tensor2D, tf.Tensor2D];
        return vicregLoss(z1, z2, Number(hp.simWeight), Number(hp.stdWeight), Number(hp.covWeight));
      },
    };
  },
};
