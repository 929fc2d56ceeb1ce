// DINO (Caron et al., ICCV 2021): a student matches the centred, sharpened output of an EMA
// teacher across crops; the teacher sees the two global crops, the student every crop
// (multi-crop). Centring (EMA 0.9 of the teacher's mean output) and sharpening (τt < τs) together
// prevent collapse (§3.1). The head ends in an L2-normalised bottleneck and a weight-normalised
// prototype layer. Optionally (on in the fast-CPU preset) DINOv2's KoLeo term spreads the student's
// backbone features within each global crop's batch.
import * as tf from '@tensorflow/tfjs';
import { simclrView, type ViewSpec } from '../../core/engine/augment.ts';
import { frozenAtFirst, type SslMethod } from '../../core/engine/method.ts';
import type { ForwardMode } from '../../core/engine/nn/params.ts';
import { mlp } from '../../core/engine/nn/layers.ts';
import { teacherMomentum } from '../../core/engine/optim.ts';
import { copyAsTeacher, emaTowards } from '../../core/engine/teacher.ts';
import { l2normalize, withKoleo } from './losses.ts';

/** Global crops (scale 0.4–1, full size) then local crops (0.05–0.4, ~0.45 × size), as in DINO. */
export function multiCropViews(size: number, locals: number, globalScale: [number, number] = [0.4, 1]): ViewSpec[] {
  const global = (solarize: number): ViewSpec => ({ ...simclrView(size), scale: globalScale, blur: size <= 64 ? 0 : 0.5, solarize });
  const localSize = Math.max(16, Math.round(size * 0.45 / 8) * 8);
  const local: ViewSpec = { ...simclrView(localSize), scale: [0.05, globalScale[0]], blur: localSize <= 64 ? 0 : 0.5 };
  return [global(0), global(0.2), ...Array.from({ length: locals }, () => local)];
}

/** DINO's loss: mean over (teacher global i, student crop j ≠ i) of −Σ softmax((t−c)/τt)·log softmax(s/τs). */
export function dinoLoss(teacher: tf.Tensor2D[], student: tf.Tensor2D[], center: tf.Tensor, teacherTemp: number, studentTemp: number): tf.Scalar {
  return tf.tidy(() => {
    const targets = teacher.map((t) => tf.softmax(tf.div(tf.sub(t, center), teacherTemp)));
    const terms: tf.Scalar[] = [];
    targets.forEach((t, i) => student.forEach((s, j) => {
      if (i !== j) terms.push(tf.mean(tf.neg(tf.sum(tf.mul(t, tf.logSoftmax(tf.div(s, studentTemp))), 1))) as tf.Scalar);
    }));
    return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
  });
}

export const dino: SslMethod = {
  id: 'dino',
  name: 'DINO',
  summary: 'Self-distillation with an EMA teacher over multiple crops; strong features for retrieval and clustering.',
  reference: 'Caron et al. Emerging Properties in Self-Supervised Vision Transformers. ICCV 2021.',
  hyperparameters: [
    { key: 'outDim', label: 'Prototypes', type: 'integer', default: 1024, min: 16, max: 65536, help: 'Output size of the head (65,536 on ImageNet; fewer for small data).' },
    { key: 'teacherTemp', label: 'Teacher temperature', type: 'number', default: 0.04, min: 0.01, max: 0.2, help: 'Sharpening of the teacher (0.04–0.07).' },
    { key: 'studentTemp', label: 'Student temperature', type: 'number', default: 0.1, min: 0.01, max: 1, help: 'Temperature of the student softmax.' },
    { key: 'momentum', label: 'Teacher momentum', type: 'number', default: 0.99, min: 0.9, max: 0.99999, help: 'Starting EMA rate of the teacher (0.996 on ImageNet); rises to 1 on a cosine. Short runs start lower (at most 1 − 40/steps) so the teacher keeps up.' },
    { key: 'centerMomentum', label: 'Centre momentum', type: 'number', default: 0.9, min: 0, max: 0.999, help: 'EMA rate of the centre subtracted from teacher outputs.' },
    { key: 'headBatchNorm', label: 'BN in head', type: 'boolean', default: true, help: 'Batch norm in the head\'s hidden layer. The paper\'s head has none; on a short CPU run both train alike.' },
    { key: 'freezePrototypeEpochs', label: 'Frozen prototypes (epochs)', type: 'number', default: 1, min: 0, max: 10, help: 'The prototype layer stays as initialised for the first epochs, which steadies the start (1 in the paper).' },
    { key: 'koleo', label: 'KoLeo weight', type: 'number', default: 0, min: 0, max: 1, help: 'Keeps the image features spread out, so similar images stay apart from each other (DINOv2\'s KoLeo regulariser). 0.04 on a short CPU run; 0.1 or more stalls it. 0: off, as in DINO.' },
    { key: 'localCrops', label: 'Local crops', type: 'integer', default: 2, min: 0, max: 10, help: 'Small crops seen by the student only (6–10 in the paper; each adds cost).' },
  ],
  defaults: { optimizer: 'adamw', learningRate: 5e-4, weightDecay: 0.04, batchSize: 64, epochs: 100, warmupEpochs: 10 },
  presets: [
    // Frozen prototypes for a first epoch of five: kNN 68.7% either way, probe 71.4% → 70.4% (3 seeds).
    // At 32 px a local crop is 16 px, a blob that cannot predict the teacher's view of the whole
    // image, and a short run learns faster at 4× the paper's rate (Fashion-MNIST, 24k images, seed
    // 0, the student's kNN: 67.4% with 2 local crops, 70.6% without, 72.8% without and at 2e-3).
    // 1,024 prototypes rather than 256: the teacher's kNN 72.3% → 73.5%, higher on each of 3 seeds.
    // KoLeo 0.04: on a short run DINO's features crowd into a few directions (effective rank 43
    // of 128, the lowest of the methods) and the kNN accuracy stays near the random encoder's.
    // Emoji, 72k images, seed 0: kNN 72.2 → 74.6%, probe 74.7 → 76.8%, rank 42.8 → 68.7; at 0.02
    // 73.0%; at 0.1 the spreading wins, the head's output stays uniform and kNN falls to 62.4%.
    { id: 'fast-cpu', settings: { batchSize: 64, learningRate: 2e-3 }, hyperparameters: { outDim: 1024, localCrops: 0, freezePrototypeEpochs: 0, koleo: 0.04 } },
    { id: 'quality-gpu', hyperparameters: { outDim: 8192, localCrops: 6, momentum: 0.996 } },
  ],
  views: (size, hp) => multiCropViews(size, Number(hp.localCrops)),
  // The paper evaluates (and releases) the teacher: the EMA of the student is the better encoder
  // throughout training (§5.2, "the teacher outperforms the student").
  outputEncoder: 'teacher',
  build({ params, rng, encoder, hp, createEncoder }) {
    const k = Number(hp.outDim);
    const headSizes = [encoder.featureDim, 512, 128];
    const headOptions = { batchNorm: hp.headBatchNorm === true };
    const mlpStudent = mlp(params, rng, 'method/head', headSizes, headOptions);
    const lastV = params.add('method/head/prototypes/kernel', tf.randomNormal([128, k], 0, 0.02, 'float32', rng.seed()));
    const teacher = createEncoder('teacher', false);
    const mlpTeacher = mlp(params, rng, 'method/teacher_head', headSizes, headOptions);
    params.add('method/teacher_head/prototypes/kernel', tf.zeros([128, k]));
    copyAsTeacher(params, 'method/head/', 'method/teacher_head/');
    const lastT = params.get('method/teacher_head/prototypes/kernel');
    const center = tf.variable(tf.zeros([1, k]), false);
    let teacherMean: tf.Tensor | null = null;
    // Weight-normalised prototype layer (norm fixed to 1) on L2-normalised bottleneck features.
    const head = (h: tf.Tensor2D, mode: ForwardMode, body: typeof mlpStudent, v: tf.Variable) =>
      tf.matMul(l2normalize(body(h, mode)), tf.div(v, tf.add(tf.norm(v, 'euclidean', 0, true), 1e-12))) as tf.Tensor2D;
    return {
      loss({ views, mode }) {
        const teacherMode = { training: true };
        const globals = tf.concat([views[0]!, views[1]!]);
        const n = views[0]!.shape[0];
        const t = head(teacher.apply(globals, teacherMode), teacherMode, mlpTeacher, lastT);
        const teacherOut = tf.split(t, [n, n]) as tf.Tensor2D[];
        const features = encoder.apply(globals, mode);
        const studentOut = [...(tf.split(head(features, mode, mlpStudent, lastV), [n, n]) as tf.Tensor2D[])];
        const locals = views.slice(2);
        if (locals.length) studentOut.push(...(tf.split(head(encoder.apply(tf.concat(locals), mode), mode, mlpStudent, lastV), locals.map(() => n)) as tf.Tensor2D[]));
        teacherMean?.dispose();
        teacherMean = tf.keep(tf.mean(t, 0, true));
        const loss = dinoLoss(teacherOut, studentOut, center, Number(hp.teacherTemp), Number(hp.studentTemp));
        return withKoleo(loss, Number(hp.koleo ?? 0), tf.split(features, [n, n]) as tf.Tensor2D[]);
      },
      // The paper's freeze_last_layer: the student's prototypes take no step (nor decay) at first.
      learningRate: frozenAtFirst('method/head/prototypes/kernel', Number(hp.freezePrototypeEpochs)),
      afterStep({ step, totalSteps }) {
        const m = teacherMomentum(step, totalSteps, Number(hp.momentum));
        emaTowards(params, 'encoder/', 'teacher/', m);
        emaTowards(params, 'method/head/', 'method/teacher_head/', m);
        if (teacherMean) {
          const cm = Number(hp.centerMomentum), mean = teacherMean;
          tf.tidy(() => center.assign(tf.add(tf.mul(center, cm), tf.mul(mean, 1 - cm))));
          mean.dispose();
          teacherMean = null;
        }
      },
      stateTensors: () => [['center', center]],
      dispose: () => {
        teacherMean?.dispose();
        center.dispose();
      },
    };
  },
};
