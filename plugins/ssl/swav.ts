// SwAV (Caron et al., NeurIPS 2020): cluster assignments ("codes") of one crop, computed online
// with Sinkhorn-Knopp under an equal-partition constraint (ε = 0.05, 3 iterations), are predicted
// from the other crops ("swapped prediction", eq. 1–3); multi-crop; prototypes kept on the unit
// sphere after every step, and frozen for the first epoch. Small batches may keep a queue of the
// last global crops' embeddings (the paper's, for batches under 256): Sinkhorn then splits a batch
// and the queue among the prototypes, not a batch of 128 alone among 100. The fast-CPU preset does
// without: from the first step (the paper starts it after 15 epochs) a 1,024-row queue lowered
// Fashion-MNIST kNN at a 24k-image budget from 72.1% to 71.1%, and at 72k from 73.1% to 72.3%.
// Its global crops keep at least 40% of the image, not the paper's 14%: the paper's small global
// crops come with local crops beside them, and alone they left the kNN at the random-init floor
// (72k images, seed 0, kNN / probe, floor 73.0 / 75.5%: 14% gives 73.1 / 81.2%, 40% 78.7 / 81.9%;
// at 14%, 30 or 1,000 prototypes, Adam at 1e-3, or the prototypes stepping at 0.1× or 0.02× the
// encoder's rate gave 73.1–74.9% kNN; at 40%, the prototypes at 0.1× gave 78.4%; seed 1: 78.7 /
// 83.8%, floor 73.9 / 76.1%). Its codes are sharper than the paper's (ε = 0.02, not 0.05): a small
// random-init encoder maps images close together (the emoji set, one glyph on white, most of all),
// the scores of one image differ little from prototype to prototype, and at ε = 0.05 Sinkhorn's
// codes came out near uniform; uniform predictions fit them, and the loss sat at ln K from the
// first epoch (emoji, 72k images, kNN 67.0–67.6% against a 71.5% floor, also with the prototypes
// frozen for an epoch). At ε = 0.02 (72k images, seed 0): emoji 75.5 / 78.5% (floor 71.5 /
// 70.1%), Fashion-MNIST 80.4 / 84.5% (was 78.7 / 81.9%); at 24k on emoji ε = 0.01 gave 72.5%
// against 0.02's 73.5%.
import * as tf from '@tensorflow/tfjs';
import { frozenAtFirst, type SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';
import { stopGradient } from '../../core/engine/teacher.ts';
import { multiCropViews } from './dino.ts';
import { l2normalize, sinkhornCodes, softCrossEntropy } from './losses.ts';
import { enqueue, filledRows } from './queue.ts';

/**
 * Swapped prediction: codes of global crop i predicted from every other crop's scores. `queued[i]`
 * (optional): scores of earlier crops i, which join the Sinkhorn problem but not the loss.
 */
export function swavLoss(scores: tf.Tensor2D[], epsilon: number, iterations: number, temperature: number, queued: (tf.Tensor2D | null)[] = []): tf.Scalar {
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    for (let i = 0; i < 2; i++) {
      const own = stopGradient(scores[i]!) as tf.Tensor2D, extra = queued[i];
      const codes = extra ? tf.slice(sinkhornCodes(tf.concat([own, extra]), epsilon, iterations), [0, 0], own.shape) as tf.Tensor2D : sinkhornCodes(own, epsilon, iterations);
      scores.forEach((s, j) => {
        if (j !== i) terms.push(softCrossEntropy(codes, s, temperature));
      });
    }
    return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
  });
}

export const swav: SslMethod = {
  id: 'swav',
  name: 'SwAV',
  summary: 'Online clustering: each crop predicts the balanced cluster assignment of the other crops.',
  reference: 'Caron et al. Unsupervised Learning of Visual Features by Contrasting Cluster Assignments. NeurIPS 2020.',
  hyperparameters: [
    { key: 'prototypes', label: 'Prototypes', type: 'integer', default: 256, min: 8, max: 16384, help: 'Number of clusters (3000 on ImageNet; about 10× the classes you expect for small data).' },
    { key: 'temperature', label: 'Temperature τ', type: 'number', default: 0.1, min: 0.01, max: 1, help: 'Softmax temperature of the predictions.' },
    { key: 'epsilon', label: 'Sinkhorn ε', type: 'number', default: 0.05, min: 0.001, max: 1, help: 'Entropy regularisation of the codes; smaller is sharper. Lower it (about 0.02) for small encoders or look-alike images, whose codes come out near uniform at 0.05 (the loss then stays at ln of the prototype count).' },
    { key: 'sinkhornIterations', label: 'Sinkhorn iterations', type: 'integer', default: 3, min: 1, max: 50, help: 'Normalisation rounds per batch.' },
    { key: 'queueSize', label: 'Queue length', type: 'integer', default: 0, min: 0, max: 65536, help: 'Earlier embeddings per global crop that join the cluster assignment (3840 in the paper for batches of 256; 0: none). Use one when the batch is not much larger than the number of prototypes.' },
    { key: 'localCrops', label: 'Local crops', type: 'integer', default: 2, min: 0, max: 10, help: 'Small crops that only predict (6 in the paper; each adds cost).' },
    { key: 'globalCropScale', label: 'Global crop minimum scale', type: 'number', default: 0.14, min: 0.05, max: 1, help: 'Smallest share of the image a global crop keeps (0.14 in the paper, with local crops beside it; about 0.4 without local crops).' },
    { key: 'freezePrototypeEpochs', label: 'Frozen prototypes (epochs)', type: 'number', default: 1, min: 0, max: 10, help: 'The prototypes stay as initialised for the first epochs while the encoder finds its footing (1 in the paper).' },
  ],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 1e-6, batchSize: 128, epochs: 100, warmupEpochs: 5 },
  presets: [
    // At 32 px a local crop (5–14% of the image, 16 px) is a blob: predicting codes from it costs
    // shape information (Fashion-MNIST, 24k images: 64.7% kNN with 2 local crops, 67.7% without).
    // A short CPU run learns faster at 3× Adam's usual rate (24k images: 66.7% → 72.1% kNN).
    // Frozen prototypes for a first epoch of five cost a fifth of the run (kNN 72.2% → 71.2%,
    // 3 seeds); the paper's one epoch is of hundreds.
    { id: 'fast-cpu', settings: { learningRate: 3e-3 }, hyperparameters: { prototypes: 100, localCrops: 0, globalCropScale: 0.4, freezePrototypeEpochs: 0, epsilon: 0.02 } },
    { id: 'quality-gpu', hyperparameters: { prototypes: 1000, localCrops: 6 } },
  ],
  views: (size, hp) => multiCropViews(size, Number(hp.localCrops), [Number(hp.globalCropScale ?? 0.14), 1]),
  build({ params, rng, encoder, hp }) {
    const projector = mlp(params, rng, 'method/projector', [encoder.featureDim, 512, 128]);
    const prototypes = params.add('method/prototypes/kernel', l2normalize(tf.randomNormal([Number(hp.prototypes), 128], 0, 1, 'float32', rng.seed())));
    const size = Number(hp.queueSize ?? 0);
    // One queue per global crop.
    const queues = size > 0 ? [0, 1].map(() => tf.variable(tf.zeros([size, 128]), false)) : [];
    let latest: tf.Tensor2D[] = [];
    return {
      loss({ views, mode, step }) {
        const n = views[0]!.shape[0];
        const embed = (x: tf.Tensor4D) => l2normalize(projector(encoder.apply(x, mode), mode));
        const globals = tf.split(embed(tf.concat([views[0]!, views[1]!])), [n, n]) as tf.Tensor2D[];
        const locals = views.slice(2);
        const localZ = locals.length ? (tf.split(embed(tf.concat(locals)), locals.map(() => n)) as tf.Tensor2D[]) : [];
        const scores = [...globals, ...localZ].map((z) => tf.matMul(z, prototypes, false, true) as tf.Tensor2D);
        const filled = size > 0 ? filledRows(queues[0]!, n, step) : 0;
        const queued = queues.map((q) => (filled > 0 ? tf.matMul(tf.slice(q, [0, 0], [filled, -1]), stopGradient(prototypes), false, true) as tf.Tensor2D : null));
        latest.forEach((t) => t.dispose());
        latest = size > 0 ? globals.map((z) => tf.keep(stopGradient(z) as tf.Tensor2D)) : [];
        return swavLoss(scores, Number(hp.epsilon), Number(hp.sinkhornIterations), Number(hp.temperature), queued);
      },
      // The paper freezes the prototypes for the first epoch (Appendix A.1).
      learningRate: frozenAtFirst('method/prototypes/kernel', Number(hp.freezePrototypeEpochs)),
      afterStep({ step }) {
        tf.tidy(() => prototypes.assign(l2normalize(prototypes as tf.Tensor2D)));
        latest.forEach((z, i) => {
          enqueue(queues[i]!, z, step);
          z.dispose();
        });
        latest = [];
      },
      stateTensors: () => queues.map((q, i) => [`queue${i}`, q] as [string, tf.Variable]),
      dispose: () => {
        latest.forEach((t) => t.dispose());
        queues.forEach((q) => q.dispose());
      },
    };
  },
};
