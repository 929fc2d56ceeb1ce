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

const l2normalize = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.add(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
export { l2normalize };

/**
 * KoLeo (Sablayrolles et al. 2019; the regulariser of DINOv2, Oquab et al. 2023, §4): −mean log of
 * each row's distance to its nearest other row, on L2-normalised features. It spreads the batch
 * over the sphere, so a few directions cannot carry every image.
 */
export function koleoLoss(x: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const xn = l2normalize(x);
    const sim = tf.sub(tf.matMul(xn, xn, false, true), tf.mul(tf.eye(x.shape[0]), 4));
    const nearest = tf.max(sim, 1);
    const distance = tf.sqrt(tf.maximum(tf.sub(2, tf.mul(2, nearest)), 1e-8));
    return tf.neg(tf.mean(tf.log(tf.add(distance, 1e-8)))) as tf.Scalar;
  });
}

/** `loss` plus `weight` × the mean KoLeo term over `views` (each view's features on their own); `loss` when the weight is 0. */
export function withKoleo(loss: tf.Scalar, weight: number, views: tf.Tensor2D[]): tf.Scalar {
  if (!weight) return loss;
  return tf.add(loss, tf.mul(weight, tf.div(tf.addN(views.map(koleoLoss)), views.length))) as tf.Scalar;
}

/** BYOL's regression loss (Grill et al. 2020, eq. 2): ‖p̄ − z̄‖² = 2 − 2·cos(p, z), mean over the batch. */
export function normalizedMse(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(l2normalize(p), l2normalize(z)), 1)))) as tf.Scalar);
}

/** SimSiam's loss term (Chen & He 2021, eq. 1): −cos(p, z), mean over the batch. */
export function negativeCosine(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(l2normalize(p), l2normalize(z)), 1))) as tf.Scalar);
}

/**
 * Barlow Twins (Zbontar et al. 2021, eq. 1): the cross-correlation of the batch-standardised
 * embeddings driven to the identity: Σᵢ(1 − Cᵢᵢ)² + λ·Σᵢ≠ⱼ Cᵢⱼ².
 */
export function barlowTwinsLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const standardise = (z: tf.Tensor2D) => {
      const { mean, variance } = tf.moments(z, 0);
      return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5)));
    };
    const c = tf.div(tf.matMul(standardise(z1), standardise(z2), true, false), n);
    const eye = tf.eye(c.shape[0]);
    const onDiag = tf.sum(tf.square(tf.sub(tf.mul(c, eye), eye)));
    const offDiag = tf.sum(tf.square(tf.mul(c, tf.sub(1, eye))));
    return tf.add(onDiag, tf.mul(offDiag, lambda)) as tf.Scalar;
  });
}

/**
 * VICReg (Bardes et al. 2022, eqs. 1–6): λ·invariance (MSE) + μ·variance (hinge on the std of
 * each dimension, γ = 1, ε = 1e-4) + ν·covariance (squared off-diagonal covariances / d).
 */
export function vicregLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, sim: number, std: number, cov: number): tf.Scalar {
  return tf.tidy(() => {
    const [n, d] = z1.shape;
    const invariance = tf.mean(tf.square(tf.sub(z1, z2)));
    const varianceTerm = (z: tf.Tensor2D) => tf.mean(tf.relu(tf.sub(1, tf.sqrt(tf.add(tf.moments(z, 0).variance, 1e-4)))));
    const covarianceTerm = (z: tf.Tensor2D) => {
      const centred = tf.sub(z, tf.mean(z, 0));
      const c = tf.div(tf.matMul(centred, centred, true, false), n - 1);
      return tf.div(tf.sum(tf.square(tf.mul(c, tf.sub(1, tf.eye(d))))), d);
    };
    // The paper's variance term uses the unbiased std; moments() is biased: rescale.
    const unbias = (z: tf.Tensor2D) => tf.mul(z, Math.sqrt(n / Math.max(1, n - 1))) as tf.Tensor2D;
    return tf.addN([
      tf.mul(invariance, sim),
      tf.mul(tf.add(varianceTerm(unbias(z1)), varianceTerm(unbias(z2))), std),
      tf.mul(tf.add(covarianceTerm(z1), covarianceTerm(z2)), cov),
    ]) as tf.Scalar;
  });
}

/** InfoNCE of MoCo (He et al. 2020, eq. 1): the positive key against a queue of negatives. */
export function infoNce(q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const qn = l2normalize(q), kn = l2normalize(k);
    const positive = tf.sum(tf.mul(qn, kn), 1, true);
    const negatives = tf.matMul(qn, queue, false, true);
    const logits = tf.div(tf.concat([positive, negatives], 1), temperature);
    return tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits), [0, 0], [-1, 1]))) as tf.Scalar;
  });
}

/**
 * Sinkhorn-Knopp codes (SwAV, Caron et al. 2020, §3.1): Q ∝ exp(scores/ε), rescaled so every
 * prototype gets an equal share of the batch; returns [batch, prototypes], rows summing to 1.
 */
export function sinkhornCodes(scores: tf.Tensor2D, epsilon: number, iterations: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, k] = scores.shape;
    // Subtracting the max keeps exp() finite; it cancels in the normalisation.
    let q = tf.exp(tf.div(tf.sub(scores, tf.max(scores)), epsilon)) as tf.Tensor2D;
    q = tf.div(q, tf.sum(q));
    for (let i = 0; i < iterations; i++) {
      q = tf.div(tf.div(q, tf.sum(q, 0, true)), k); // each prototype: total 1/K
      q = tf.div(tf.div(q, tf.sum(q, 1, true)), b); // each sample: total 1/B
    }
    return tf.mul(q, b) as tf.Tensor2D;
  });
}

/** Cross-entropy between target distributions and predicted logits / τ, mean over rows. */
export function softCrossEntropy(targets: tf.Tensor2D, logits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(tf.div(logits, temperature))), 1))) as tf.Scalar);
}
