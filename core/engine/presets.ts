// Presets: named starting points for people who should not have to tune an SSL run. The engine
// declares the shared ones (resolution, width, batch, epochs by hardware); a method adjusts its own
// hyper-parameters per preset (fewer prototypes and no local crops for DINO on a CPU…) or adds
// presets of its own. The Train form, `loupe train --preset` and `loupe methods` all read these.
import type { TrainConfig } from './config.ts';
import type { HyperValue, SslMethod } from './method.ts';

export type PresetSettings = Partial<Pick<TrainConfig, 'epochs' | 'batchSize' | 'imageSize' | 'width' | 'learningRate' | 'warmupEpochs' | 'optimizer' | 'weightDecay'>>;

export interface TrainPreset {
  id: string;
  label: string;
  help: string;
  settings: PresetSettings;
  hyperparameters: Record<string, HyperValue>;
}

/** What a method declares: changes to a shared preset (same id) or a preset of its own. */
export interface MethodPreset {
  id: string;
  label?: string;
  help?: string;
  settings?: PresetSettings;
  hyperparameters?: Record<string, HyperValue>;
}

export const sharedPresets: TrainPreset[] = [
  {
    id: 'fast-cpu',
    label: 'Fast (CPU)',
    help: '32 px, narrow encoder: minutes on a laptop CPU; good enough to explore a collection.',
    settings: { imageSize: 32, width: 0.25, batchSize: 128, epochs: 30 },
    hyperparameters: {},
  },
  {
    id: 'balanced',
    label: 'Balanced',
    help: '64 px, half-width encoder: an hour or two on a CPU, minutes on a GPU.',
    settings: { imageSize: 64, width: 0.5, batchSize: 128, epochs: 100 },
    hyperparameters: {},
  },
  {
    id: 'quality-gpu',
    label: 'Quality (GPU)',
    help: '128 px, full ResNet-18, long schedule: for a GPU; fine detail and the best features.',
    settings: { imageSize: 128, width: 1, batchSize: 256, epochs: 200 },
    hyperparameters: {},
  },
];

/** The presets of a method: the shared ones with the method's changes, then its own. */
export function presetsFor(method: Pick<SslMethod, 'presets'>): TrainPreset[] {
  const own = method.presets ?? [];
  const merged = sharedPresets.map((base) => {
    const change = own.find((p) => p.id === base.id);
    if (!change) return base;
    return {
      ...base,
      label: change.label ?? base.label,
      help: change.help ?? base.help,
      settings: { ...base.settings, ...change.settings },
      hyperparameters: { ...base.hyperparameters, ...change.hyperparameters },
    };
  });
  const extra = own.filter((p) => !sharedPresets.some((b) => b.id === p.id)).map((p) => ({
    id: p.id, label: p.label ?? p.id, help: p.help ?? '', settings: p.settings ?? {}, hyperparameters: p.hyperparameters ?? {},
  }));
  return [...merged, ...extra];
}

export function findPreset(method: Pick<SslMethod, 'presets' | 'name'>, id: string): TrainPreset {
  const all = presetsFor(method);
  const preset = all.find((p) => p.id === id);
  if (!preset) throw new Error(`${method.name} has no preset "${id}"; choose one of ${all.map((p) => p.id).join(', ')}`);
  return preset;
}
