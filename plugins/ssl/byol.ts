// BYOL (Grill et al., NeurIPS 2020): an online network (encoder, projector, predictor) regresses
// the projection of another view made by a target network, an EMA of the online one; no
// negatives. Symmetric loss; target momentum 0.99 → 1 on a cosine (eq. 2 and §3.2), started lower in short runs;
// on the CPU preset the predictor keeps its peak learning rate (as SimSiam's does) and DINOv2's
// KoLeo term spreads the online encoder's features within each view's batch.
import * as tf from '@tensorflow/tfjs';
import { simclrView } from '../../core/engine/augment.ts';
import { peakRateFor, type SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';
import { teacherMomentum } from '../../core/engine/optim.ts';
import { copyAsTeacher, emaTowards } from '../../core/engine/teacher.ts';
import { normalizedMse, withKoleo } from './losses.ts';

export const byol: SslMethod = {
  id: 'byol',
  name: 'BYOL',
  summary: 'Predicts a slowly-moving teacher\'s view of each image: no negatives, robust to small batches.',
  reference: 'Grill et al. Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning. NeurIPS 2020.',
  hyperparameters: [
    { key: 'momentum', label: 'Target momentum', type: 'number', default: 0.99, min: 0.9, max: 0.99999, help: 'Starting EMA rate of the target network; it rises to 1 on a cosine. Short runs start lower (at most 1 − 40/steps) so the target keeps up.' },
    { key: 'projectionDim', label: 'Projection size', type: 'integer', default: 128, min: 16, max: 4096, help: 'Output size of projector and predictor.' },
    { key: 'hiddenDim', label: 'Hidden size', type: 'integer', default: 512, min: 16, max: 8192, help: 'Hidden width of projector and predictor.' },
    { key: 'koleo', label: 'KoLeo weight', type: 'number', default: 0, min: 0, max: 1, help: 'Keeps the image features spread out, so similar images stay apart from each other (DINOv2\'s KoLeo regulariser, as in DINO here). 0.04 on a short CPU run. 0: off, as in BYOL.' },
    { key: 'fixedPredictorRate', label: 'Constant predictor rate', type: 'boolean', default: false, help: 'The predictor learns at the peak rate throughout while the rest follows the schedule, as in SimSiam: it keeps up with the changing features.' },
  ],
  defaults: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 1e-6, batchSize: 128, epochs: 100, warmupEpochs: 5 },
  // On a CPU's short schedule, twice the steps at half the batch matter more than batch size
  // (Fashion-MNIST, 24k images: 60.8% kNN at batch 128, 73.1% at 64 with the lower momentum), and
  // 3× Adam's usual rate, as for the other methods here (seed 0: kNN 75.0%, probe 80.0%).
  presets: [
    // …and a predictor that keeps its peak rate: in short runs it must keep up with the features
    // (emoji, 72k images, seed 0, views apart: kNN 72.6% → 74.0%, probe 75.9% → 76.3%).
    // KoLeo 0.04, as DINO's preset: on a short run BYOL's features crowd into few directions
    // (effective rank 40, the lowest here) and kNN stays near the random encoder's. 72k images:
    // emoji seeds 0 / 1, kNN 74.0 / 72.1% → 75.5 / 74.1%, probe 76.3 / 75.0% → 76.4 / 74.7%, rank
    // 43 → 62 / 74; Fashion-MNIST seed 0, kNN 77.6 → 79.2%, probe 82.3 → 84.3%.
    { id: 'fast-cpu', settings: { batchSize: 64, learningRate: 3e-3 }, hyperparameters: { fixedPredictorRate: true, koleo: 0.04 } },
    { id: 'quality-gpu', hyperparameters: { momentum: 0.996, hiddenDim: 2048, projectionDim: 256 } },
  ],
  // Asymmetric views (§3.3): always blurred vs rarely blurred and sometimes solarised.
  views: (size) => [
    { ...simclrView(size), colorJitter: { p: 0.8, strength: 0.5 }, blur: size <= 64 ? 0 : 1.0 },
    { ...simclrView(size), blur: size <= 64 ? 0 : 0.1, solarize: 0.2 },
  ],
  build({ params, rng, encoder, hp, createEncoder }) {
    const sizes = [encoder.featureDim, Number(hp.hiddenDim), Number(hp.projectionDim)];
    const projector = mlp(params, rng, 'method/projector', sizes);
    const predictor = mlp(params, rng, 'method/predictor', [Number(hp.projectionDim), Number(hp.hiddenDim), Number(hp.projectionDim)]);
    const target = createEncoder('teacher', false);
    const targetProjector = mlp(params, rng, 'method/target_projector', sizes);
    copyAsTeacher(params, 'method/projector/', 'method/target_projector/');
    return {
      learningRate: peakRateFor('method/predictor/', hp.fixedPredictorRate === true),
      loss({ views, mode }) {
        const [a, b] = views as [tf.Tensor4D, tf.Tensor4D];
        // Each view through the networks on its own, as in the paper's code: batch norm then
        // normalises over one view of each image, not over both views of it together. Emoji, 72k
        // images, seed 0: kNN 70.6% → 72.6%, probe 76.6% → 75.9%.
        const teacherMode = { training: true };
        const f1 = encoder.apply(a, mode) as tf.Tensor2D, f2 = encoder.apply(b, mode) as tf.Tensor2D;
        const online = (f: tf.Tensor2D) => predictor(projector(f, mode), mode) as tf.Tensor2D;
        const targetOf = (x: tf.Tensor4D) => targetProjector(target.apply(x, teacherMode), teacherMode) as tf.Tensor2D;
        const p1 = online(f1), p2 = online(f2), z1 = targetOf(a), z2 = targetOf(b);
        const loss = tf.add(normalizedMse(p1, z2), normalizedMse(p2, z1)) as tf.Scalar;
        return withKoleo(loss, Number(hp.koleo ?? 0), [f1, f2]);
      },
      afterStep({ step, totalSteps }) {
        const m = teacherMomentum(step, totalSteps, Number(hp.momentum));
        emaTowards(params, 'encoder/', 'teacher/', m);
        emaTowards(params, 'method/projector/', 'method/target_projector/', m);
      },
    };
  },
};
