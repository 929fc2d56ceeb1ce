// A training run's configuration: declared once with defaults, limits and help, so the Train form,
// the CLI flags and the run record all come from here (STYLE: declare, don't scatter).
import { z } from 'zod';
import { BACKEND_NAMES } from './backends/select.ts';
import type { SslMethod } from './method.ts';

export const trainConfigSchema = z.object({
  datasetId: z.number().int().positive(),
  method: z.string().min(1),
  hyperparameters: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
  epochs: z.number().int().min(1).max(10_000),
  batchSize: z.number().int().min(2).max(4096),
  imageSize: z.number().int().min(16).max(512),
  /** Encoder width multiplier of the ResNet-18 layout: 0.25 is the narrow CPU variant, 1 is ResNet-18. */
  width: z.number().min(0.125).max(2),
  optimizer: z.enum(['adam', 'adamw', 'sgd', 'lars']),
  learningRate: z.number().positive().max(10),
  weightDecay: z.number().min(0).max(1),
  warmupEpochs: z.number().min(0).max(1000),
  seed: z.number().int().min(0),
  /** Minutes between checkpoints (one is always written at the end, on pause and on cancel). */
  checkpointMinutes: z.number().positive().max(24 * 60),
  /** Epochs between kNN evaluations on the labelled images (0: only at the end). */
  knnEvery: z.number().int().min(0),
  backend: z.enum(BACKEND_NAMES).optional(),
  /** Start the encoder from another finished run's encoder (same width and channels), e.g. SeLa on a SimCLR encoder. */
  initFromRun: z.number().int().positive().optional(),
});

export type TrainConfig = z.infer<typeof trainConfigSchema>;

export interface TrainSettingHelp {
  key: keyof TrainConfig;
  label: string;
  help: string;
}

export const trainSettingHelp: TrainSettingHelp[] = [
  { key: 'epochs', label: 'Epochs', help: 'Passes over the dataset. SSL keeps improving for hundreds; 20–50 already give usable features.' },
  { key: 'batchSize', label: 'Batch size', help: 'Images per step. Contrastive methods like large batches; lower it if memory runs out.' },
  { key: 'imageSize', label: 'Image size', help: 'Training resolution in pixels. 32–64 trains fast on a CPU; 96–224 needs a GPU to be quick.' },
  { key: 'width', label: 'Encoder width', help: '0.25 is a narrow ResNet-18 that trains fast on a CPU; 1 is the standard ResNet-18.' },
  { key: 'learningRate', label: 'Learning rate', help: 'Peak learning rate after warm-up; it then decays on a cosine.' },
  { key: 'warmupEpochs', label: 'Warm-up epochs', help: 'Epochs of linear learning-rate warm-up.' },
  { key: 'weightDecay', label: 'Weight decay', help: 'Regularisation of the weights (not biases or batch-norm parameters).' },
  { key: 'checkpointMinutes', label: 'Checkpoint every (min)', help: 'A crash loses at most this much work.' },
];

/** A full config from the method's recommendations and the user's choices. */
export function defaultTrainConfig(method: SslMethod, datasetId: number, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return trainConfigSchema.parse({
    datasetId,
    method: method.id,
    hyperparameters: {},
    epochs: method.defaults.epochs,
    batchSize: method.defaults.batchSize,
    imageSize: 64,
    width: 0.25,
    optimizer: method.defaults.optimizer,
    learningRate: method.defaults.learningRate,
    weightDecay: method.defaults.weightDecay,
    warmupEpochs: Math.min(method.defaults.warmupEpochs, Math.max(0, (overrides.epochs ?? method.defaults.epochs) / 10)),
    seed: 0,
    checkpointMinutes: 5,
    knnEvery: 1,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  });
}
