// SeLa (Asano, Rupprecht, Vedaldi, ICLR 2020): self-labelling. H linear heads on the encoder's
// features predict K pseudo-classes each (by default through an MLP projector first, as in
// SeLa-v2 of Caron et al. 2020, so the cross-entropy shapes the projector's output rather than
// the encoder's features themselves). The pseudo-labels of the whole training set are
// re-solved by Sinkhorn-Knopp on each head's log-probabilities (equipartition, λ = 25) at steps
// ∝ (i/U)² (dense early, when the network changes fastest), and the network learns them by
// cross-entropy in between. Labels start as a random equipartition; they are method state, so a
// resumed run continues with the labels it had.
import * as tf from '@tensorflow/tfjs';
import { sinkhorn } from '../../core/cluster/sinkhorn.ts';
import { simclrView } from '../../core/engine/augment.ts';
import type { SslMethod } from '../../core/engine/method.ts';
import type { ForwardMode } from '../../core/engine/nn/params.ts';
import { dense, mlp } from '../../core/engine/nn/layers.ts';

/** The U steps at which labels are re-solved: ((i + 1) / U)² · T for i < U, those before the end. */
export function labelSolveSteps(updates: number, totalSteps: number): Set<number> {
  return new Set(Array.from({ length: updates }, (_, i) => Math.floor(((i + 1) / updates) ** 2 * totalSteps)).filter((s) => s < totalSteps));
}

/** Mean over heads of the cross-entropy of each head's logits against its labels. */
export function selfLabelLoss(logits: tf.Tensor2D[], targets: tf.Tensor1D[], k: number): tf.Scalar {
  return tf.tidy(() => {
    const terms = logits.map((l, h) => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(targets[h]!, k), tf.logSoftmax(l)), 1))));
    return tf.div(tf.addN(terms), logits.length) as tf.Scalar;
  });
}

export const sela: SslMethod = {
  id: 'sela',
  name: 'SeLa (self-labelling)',
  summary: 'Clusters while it learns: balanced pseudo-labels from Sinkhorn-Knopp, learnt by several heads. Gives concepts and an encoder in one run.',
  reference: 'Asano, Rupprecht, Vedaldi. Self-labelling via simultaneous clustering and representation learning. ICLR 2020.',
  hyperparameters: [
    { key: 'clusters', label: 'Clusters per head', type: 'integer', default: 64, min: 2, max: 3000, help: 'Pseudo-classes each head predicts. More than the concepts you expect works best (the paper uses 128 on CIFAR-10, 3000 on ImageNet).' },
    { key: 'heads', label: 'Heads', type: 'integer', default: 3, min: 1, max: 10, help: 'Independent clustering heads on the same features; more heads give a richer signal.' },
    { key: 'labelUpdates', label: 'Label updates', type: 'integer', default: 8, min: 1, max: 400, help: 'Times the pseudo-labels of the whole set are re-solved during the run (each is one pass over the images), more often early on.' },
    { key: 'projector', label: 'Projection head', type: 'boolean', default: true, help: 'An MLP between the encoder and the heads (SeLa-v2). Without it the heads sit on the encoder\'s features, as in the original paper, and the clustering loss wears those features down on short runs.' },
    { key: 'lambda', label: 'Sinkhorn λ', type: 'number', default: 25, min: 1, max: 100, help: 'Sharpness of the label assignment: larger follows the heads\' predictions more closely.' },
  ],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 5e-4, batchSize: 128, epochs: 50, warmupEpochs: 2 },
  // Short CPU runs learn at the rate most methods here use (Fashion-MNIST, 24k images, seed 0: kNN
  // 72.5% at 1e-3, 75.4% at 3e-3; the random-init floor 73.0%).
  presets: [{ id: 'fast-cpu', settings: { learningRate: 3e-3 } }],
  views: (size) => [simclrView(size)],
  build({ params, rng, encoder, hp, datasetSize }) {
    const k = Number(hp.clusters), heads = Number(hp.heads), updates = Number(hp.labelUpdates), lambda = Number(hp.lambda);
    const n = datasetSize;
    if (!(n >= k)) throw new Error(`SeLa needs at least as many training images as clusters per head (${n} images, ${k} clusters): lower "Clusters per head".`);
    const projector = hp.projector === true ? mlp(params, rng, 'method/projector', [encoder.featureDim, 512, 128]) : null;
    const headInput = projector ? 128 : encoder.featureDim;
    const linear = Array.from({ length: heads }, (_, h) => dense(params, rng, `method/head${h}`, headInput, k));
    const project = (x: tf.Tensor2D, mode: ForwardMode) => (projector ? projector(x, mode) : x);
    // Labels (heads × n) as float32 state (checkpoints hold float32; ids < 2^24 are exact).
    const start = new Float32Array(heads * n);
    for (let h = 0; h < heads; h++) start.set(rng.shuffle(Array.from({ length: n }, (_, i) => i % k)), h * n);
    const labels = tf.variable(tf.tensor2d(start, [heads, n]), false);
    let solveAt: Set<number> | null = null;
    return {
      async beforeStep({ step, totalSteps, encodeAll }) {
        solveAt ??= labelSolveSteps(updates, totalSteps);
        if (!solveAt.has(step)) return;
        const features = await encodeAll();
        const x = tf.tidy(() => project(tf.tensor2d(features, [n, encoder.featureDim]), { training: false }));
        const next = new Float32Array(heads * n);
        try {
          for (let h = 0; h < heads; h++) {
            const logp = tf.tidy(() => tf.logSoftmax(linear[h]!(x)));
            const values = (await logp.data()) as Float32Array;
            logp.dispose();
            next.set(sinkhorn(values, k, { lambda, tolerance: 1e-2 }).labels, h * n);
          }
        } finally {
          x.dispose();
        }
        const t = tf.tensor2d(next, [heads, n]);
        labels.assign(t);
        t.dispose();
      },
      loss({ views, mode, rows }) {
        if (rows.length !== views[0]!.shape[0]) throw new Error('SeLa needs the dataset rows of every batch (the training engine passes them).');
        const features = project(encoder.apply(views[0]!, mode), mode);
        const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
        const targets = linear.map((_, h) => tf.cast(tf.gather(tf.squeeze(tf.slice(labels, [h, 0], [1, n]), [0]), idx), 'int32') as tf.Tensor1D);
        return selfLabelLoss(linear.map((head) => head(features)), targets, k);
      },
      stateTensors: () => [['labels', labels]],
      dispose: () => labels.dispose(),
    };
  },
};
