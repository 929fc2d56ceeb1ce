// Fine-tuning on labels: the one supervised method behind the training contract (it sits with
// the SSL methods because it is trained, checkpointed, resumed and exported as they are). It
// starts from a pretrained run's encoder (initFromRun) and learns the dataset's labels — a
// person's, and the label model's probabilistic ones from a weak-supervision session — with a
// linear classifier on the encoder's features and a noise-aware loss: each label-model label is a
// soft target (its confidence on its class, the rest spread over the others) weighted by that
// confidence, as the end model learns them (core/weak/iws.ts). Its batches hold labelled images
// only (the trainer steps through the labelled rows of a method that needs labels). The run's result is the fine-tuned encoder: embed it and the end models, the cluster
// explorer and active labelling work on features shaped by the classes.
//
// Linear probe first, then fine-tune (LP-FT, Kumar et al., ICLR 2022): for `headEpochs` only the
// classifier learns, and the encoder then moves at a tenth of its rate (`encoderRate`). A random
// head's gradients, passed at full rate into a pretrained encoder, undo features the few labels
// cannot rebuild. Emoji, 24 images per class (half labelled), from a 6-epoch SimCLR encoder, 30
// epochs: held-out nearest-centroid accuracy 36–48% → 49–55% at the default rate (3e-3, encoder
// 3e-4; 6 runs, each gaining 6–17 points), +2 points at 1e-3; 24 epochs with the encoder at the
// full rate 29 → 46%, at a tenth 36 → 54%. (Batches then mixed in the unlabelled half; on labelled
// images only, 30 epochs: 31–38% → 43–50%, 3 runs, +11 to +13, in a fifth of the time.)
import * as tf from '@tensorflow/tfjs';
import { simclrView } from '../../core/engine/augment.ts';
import type { SslMethod } from '../../core/engine/method.ts';
import { mlp } from '../../core/engine/nn/layers.ts';

export const fineTune: SslMethod = {
  id: 'fine-tune',
  name: 'Fine-tune on labels',
  summary: 'Adapts a pretrained encoder to your labels (your own and those a weak-supervision session applied). Start it from a finished run.',
  reference: 'Kumar et al. Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution. ICLR 2022 (linear probe, then fine-tune).',
  needsLabels: true,
  hyperparameters: [
    { key: 'headEpochs', label: 'Classifier-only epochs', type: 'integer', default: 1, min: 0, max: 100, help: 'Epochs in which only the new classifier learns, before the encoder moves: keeps the pretrained features intact early on.' },
    { key: 'encoderRate', label: 'Encoder rate', type: 'number', default: 0.1, min: 0, max: 1, help: 'The encoder\'s learning rate as a fraction of the classifier\'s. 0 trains the classifier alone (a linear probe).' },
  ],
  defaults: { optimizer: 'adam', learningRate: 3e-3, weightDecay: 5e-4, batchSize: 64, epochs: 10, warmupEpochs: 0 },
  presets: [
    { id: 'fast-cpu', settings: { epochs: 10 } },
    { id: 'balanced', settings: { epochs: 20 } },
    { id: 'quality-gpu', settings: { epochs: 30 } },
  ],
  // Mild: crops and flips, colours untouched (in microscopy or remote sensing colour is often the class).
  views: (size) => [{ ...simclrView(size), scale: [0.6, 1], colorJitter: { p: 0, strength: 0 }, grayscale: 0, blur: 0 }],
  build({ params, rng, encoder, hp, labels }) {
    if (!labels) throw new Error('fine-tune needs the training labels (the engine passes them for a method with needsLabels)');
    const k = labels.classNames.length;
    const classifier = mlp(params, rng, 'method/classifier', [encoder.featureDim, k]);
    const headEpochs = Number(hp.headEpochs), encoderRate = Number(hp.encoderRate);
    return {
      loss({ views, mode, rows }) {
        // Soft targets and weights of the batch's rows; unlabelled rows weigh 0.
        const target = new Float32Array(rows.length * k), weight = new Float32Array(rows.length);
        rows.forEach((r, i) => {
          const c = labels.classOf[r]!, p = labels.confidence[r]!;
          if (c < 0 || p <= 0) return;
          for (let d = 0; d < k; d++) target[i * k + d] = d === c ? p : (1 - p) / Math.max(1, k - 1);
          weight[i] = p;
        });
        return tf.tidy(() => {
          const logits = classifier(encoder.apply(views[0]!, mode), mode);
          const ce = tf.neg(tf.sum(tf.mul(tf.tensor2d(target, [rows.length, k]), tf.logSoftmax(logits)), 1));
          const w = tf.tensor1d(weight);
          return tf.div(tf.sum(tf.mul(ce, w)), tf.maximum(tf.sum(w), 1e-6)) as tf.Scalar;
        });
      },
      learningRate(param, scheduled, { epoch }) {
        if (!param.startsWith('encoder/')) return scheduled;
        return epoch < headEpochs ? 0 : scheduled * encoderRate;
      },
    };
  },
};
