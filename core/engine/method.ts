// The contract between the training engine and a self-supervised method plugin (DESIGN §3). The
// engine owns data, augmentation, the loop, optimiser, schedule, checkpoints and metrics; a method
// declares its hyper-parameters and views, builds its heads (and teacher, if any) in the shared
// Params, and computes the loss of one step. Hyper-parameters are declared once: the Train form,
// the CLI flags and the checkpoint metadata all come from `hyperparameters`.
import type * as tf from '@tensorflow/tfjs';
import type { ViewSpec } from './augment.ts';
import type { TrainingLabels } from './labels.ts';
import type { Encoder, EncoderConfig } from './nn/resnet.ts';
import type { ForwardMode, Params } from './nn/params.ts';
import type { OptimizerName } from './optim.ts';
import type { MethodPreset } from './presets.ts';
import type { Rng } from './rng.ts';

export type HyperValue = number | boolean | string;

export interface HyperparameterSpec {
  key: string;
  label: string;
  type: 'number' | 'integer' | 'boolean' | 'choice';
  default: HyperValue;
  min?: number;
  max?: number;
  choices?: string[];
  help: string;
}

/** Engine settings a method recommends for itself (the user can still change them). */
export interface MethodDefaults {
  optimizer: OptimizerName;
  learningRate: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  warmupEpochs: number;
}

export interface MethodBuildContext {
  params: Params;
  rng: Rng;
  encoder: Encoder;
  hp: Record<string, HyperValue>;
  /** A second encoder with the same architecture under another prefix (EMA teachers, momentum encoders). */
  createEncoder(prefix: string, trainable: boolean): Encoder;
  encoderConfig: EncoderConfig;
  /** Images in the training set (0 when unknown): for methods with per-image state (SeLa's labels). */
  datasetSize: number;
  /** The training images' labels (rows as in StepContext.rows), for a method with `needsLabels`. */
  labels?: TrainingLabels;
}

/** What `beforeStep` may use: a pass of the current encoder over the whole training set. */
export interface DatasetPassContext {
  step: number;
  totalSteps: number;
  /** Features of every training image (datasetSize × featureDim, rows in dataset order), un-augmented. */
  encodeAll(): Promise<Float32Array>;
}

export interface StepContext {
  /** One batch per view, same images in the same order, normalised. */
  views: tf.Tensor4D[];
  mode: ForwardMode;
  step: number;
  totalSteps: number;
  /** Dataset rows of the batch's images, in batch order. */
  rows: readonly number[];
}

/** Where training stands, for a per-parameter learning rate. */
export interface LearningRateContext {
  step: number;
  totalSteps: number;
  /** Epochs done, fractional (step / steps per epoch). */
  epoch: number;
  /** The schedule's peak rate (the run's learning rate). */
  peak: number;
}

export interface MethodInstance {
  /** Before a step, outside the tape: dataset-level work on a schedule (SeLa's label solves). */
  beforeStep?(ctx: DatasetPassContext): Promise<void>;
  /** The scalar to minimise for this step; runs under the gradient tape. */
  loss(step: StepContext): tf.Scalar;
  /** After the optimiser step: EMA teachers, queues, centring. Outside the tape. */
  afterStep?(step: StepContext): void;
  /**
   * The learning rate of one trainable parameter at this step, given the schedule's: 0 freezes it
   * for the step (no update, optimiser state untouched), as DINO freezes its prototypes early;
   * `peak` lets a part keep a constant rate, as SimSiam's predictor. Absent: the schedule's for all.
   */
  learningRate?(param: string, scheduled: number, ctx: LearningRateContext): number;
  /** Extra named tensors that are not Params but must survive a resume (MoCo's queue…). */
  stateTensors?(): [string, tf.Variable][];
  /** Releases tensors the method holds outside Params. */
  dispose?(): void;
}

/** A `learningRate` hook that holds one parameter still for the first `epochs` epochs (DINO's, SwAV's prototypes). */
export function frozenAtFirst(param: string, epochs: number): NonNullable<MethodInstance['learningRate']> {
  return (name, scheduled, { epoch }) => (name === param && epoch < epochs ? 0 : scheduled);
}

export interface SslMethod {
  id: string;
  name: string;
  /** One sentence for the method picker. */
  summary: string;
  /** The paper, for the curious and for the docs. */
  reference: string;
  hyperparameters: HyperparameterSpec[];
  defaults: MethodDefaults;
  /** Changes to the shared presets (fast CPU, balanced, quality GPU) or presets of its own. */
  presets?: MethodPreset[];
  views(size: number, hp: Record<string, HyperValue>): ViewSpec[];
  /**
   * Learns from the dataset's labels (a person's and the label model's, see loadTrainingLabels):
   * the engine passes them to `build` and refuses to start without labels of two classes.
   */
  needsLabels?: boolean;
  build(ctx: MethodBuildContext): MethodInstance;
  /**
   * The prefix of the encoder (made with createEncoder) whose weights are the run's result: what
   * kNN is measured on, what is embedded with and exported. DINO's is its teacher, which its paper
   * evaluates; by default the trained encoder itself.
   */
  outputEncoder?: string;
}

/** Declared defaults overlaid with the given values, validated against the declarations. */
export function resolveHyperparameters(method: SslMethod, given: Record<string, unknown> = {}): Record<string, HyperValue> {
  const out: Record<string, HyperValue> = {};
  for (const spec of method.hyperparameters) {
    const raw = given[spec.key];
    if (raw === undefined) {
      out[spec.key] = spec.default;
      continue;
    }
    let value: HyperValue;
    if (spec.type === 'boolean') value = raw === true || raw === 'true';
    else if (spec.type === 'choice') {
      value = String(raw);
      if (!spec.choices?.includes(value)) throw new Error(`${spec.label} must be one of ${spec.choices?.join(', ')}`);
    } else {
      value = Number(raw);
      if (!Number.isFinite(value)) throw new Error(`${spec.label} must be a number`);
      if (spec.type === 'integer' && !Number.isInteger(value)) throw new Error(`${spec.label} must be a whole number`);
      if (spec.min !== undefined && value < spec.min) throw new Error(`${spec.label} must be at least ${spec.min}`);
      if (spec.max !== undefined && value > spec.max) throw new Error(`${spec.label} must be at most ${spec.max}`);
    }
    out[spec.key] = value;
  }
  const unknown = Object.keys(given).filter((k) => !method.hyperparameters.some((s) => s.key === k));
  if (unknown.length) throw new Error(`${method.name} has no hyper-parameter ${unknown.map((k) => `"${k}"`).join(', ')}`);
  return out;
}

/**
 * A `learningRate` hook that keeps the parameters under `prefix` at the peak rate while the rest
 * follow the schedule (SimSiam's --fix-pred-lr; BYOL on the CPU preset); every parameter on the
 * schedule when `on` is false.
 */
export function peakRateFor(prefix: string, on: boolean): NonNullable<MethodInstance['learningRate']> {
  return (param, scheduled, { peak }) => (on && param.startsWith(prefix) ? peak : scheduled);
}
