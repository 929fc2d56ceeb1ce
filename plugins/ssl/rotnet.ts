// RotNet (Gidaris, Singh, Komodakis, ICLR 2018): predict which of the four rotations
// {0°, 90°, 180°, 270°} was applied. Every image of the batch is shown in all four. The rotation
// is read by a small MLP, not a linear layer: the encoder's last features then need not encode
// the rotation alone (Kolesnikov et al. 2019 saw the last block's features specialise to the
// pretext task). Fashion-MNIST, 24k-image budget, kNN: linear head 74.5%, MLP head 78.6%
// (random-init floor 73.0%).
import * as tf from '@tensorflow/tfjs';
import { simclrView } from '../../core/engine/augment.ts';
import type { SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';

/** The batch in its four rotations, stacked, and the rotation label of each row. */
export function rotations(x: tf.Tensor4D): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  return tf.tidy(() => {
    const n = x.shape[0];
    const t = tf.transpose(x, [0, 2, 1, 3]);
    const images = tf.concat([x, tf.reverse(t, 1), tf.reverse(x, [1, 2]), tf.reverse(t, 2)]) as tf.Tensor4D;
    const labels = tf.concat([0, 1, 2, 3].map((r) => tf.fill([n], r, 'int32'))) as tf.Tensor1D;
    return { images, labels };
  });
}

export const rotnet: SslMethod = {
  id: 'rotnet',
  name: 'RotNet',
  summary: 'Learns by guessing how each image was rotated. A fast, simple baseline; weak when orientation is arbitrary (microscopy).',
  reference: 'Gidaris, Singh, Komodakis. Unsupervised Representation Learning by Predicting Image Rotations. ICLR 2018.',
  hyperparameters: [],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 5e-4, batchSize: 64, epochs: 50, warmupEpochs: 2 },
  presets: [{ id: 'fast-cpu', settings: { learningRate: 3e-3 } }],
  views: (size) => [{ ...simclrView(size), scale: [0.5, 1], colorJitter: { p: 0, strength: 0 }, grayscale: 0, blur: 0 }],
  build({ params, rng, encoder }) {
    const head = mlp(params, rng, 'method/rotation_head', [encoder.featureDim, 256, 4]);
    return {
      loss({ views, mode }) {
        const { images, labels } = rotations(views[0]!);
        const logits = head(encoder.apply(images, mode), mode);
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 4), tf.logSoftmax(logits)), 1))) as tf.Scalar;
      },
    };
  },
};
