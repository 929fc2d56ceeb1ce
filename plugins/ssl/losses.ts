// Loss pieces shared by several SSL methods.
import * as tf from '@tensorflow/tfjs';

/**
 * NT-Xent (SimCLR, Chen et al. 2020, eq. 1) over 2N embeddings where rows i and i+N are the two
 * views of one image: cross-entropy of cosine similarities / τ with the partner as the target
 * and the row itself masked out.
 */
export function ntXent(z: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n2 = z.shape[0];
    const n = n2 / 2;
    const zn = tf.div(z, tf.add(tf.norm(z, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
    const logits = tf.sub(tf.div(tf.matMul(zn, zn, false, true), temperature), tf.mul(tf.eye(n2), 1e9));
    const targets = tf.concat([tf.range(n, n2, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
    const logProb = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(logProb, tf.oneHot(targets, n2)), 1))) as tf.Scalar;
  });
}
