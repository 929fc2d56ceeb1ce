// Optimisers with their state held as named tensors, so a checkpoint stores and restores them
// exactly (resume continues the same trajectory). The learning rate is passed per step by the
// schedule. Weight decay is decoupled for AdamW (Loshchilov & Hutter, 2019), L2 for SGD, and
// LARS (You et al., 2017) scales each layer's step by its trust ratio ‖w‖/‖g + λw‖; biases and BN
// parameters are exempt from decay and adaptation, as in the SimCLR/BYOL recipes.
import * as tf from '@tensorflow/tfjs';
import { FusedKernel, NATIVE_BACKEND } from './backends/kernel-names.ts';

export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'lars';

export interface OptimizerConfig {
  name: OptimizerName;
  weightDecay: number;
  momentum: number; // sgd, lars
  beta1: number; // adam
  beta2: number;
  epsilon: number;
  larsEta: number;
}

export const defaultOptimizer: OptimizerConfig = {
  name: 'adam', weightDecay: 0, momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, larsEta: 0.001,
};

const exempt = (name: string) => /\/(bias|beta|gamma)$/.test(name);

export class Optimizer {
  readonly state = new Map<string, tf.Variable>();
  step = 0;

  /** Steps each parameter sat out (rate 0): its own Adam step count is the optimiser's minus these. */
  private readonly skipped = new Map<string, number>();

  constructor(readonly config: OptimizerConfig) {}

  /**
   * Counts a step a parameter sat out, in a state tensor too so a checkpoint keeps it: when it
   * starts learning, its bias correction starts from its first step, as PyTorch's per-parameter
   * step count does; from the optimiser's, its first Adam steps would be ~3× too large.
   */
  private skip(name: string): void {
    const n = (this.skipped.get(name) ?? 0) + 1;
    this.skipped.set(name, n);
    const v = this.state.get(`${name}/skipped`);
    if (v) v.assign(tf.scalar(n));
    else this.state.set(`${name}/skipped`, tf.variable(tf.scalar(n), false, `opt:${name}/skipped#${Math.random().toString(36).slice(2)}`));
  }

  private slot(name: string, like: tf.Tensor): tf.Variable {
    let v = this.state.get(name);
    if (!v) {
      v = tf.variable(tf.zerosLike(like), false, `opt:${name}#${Math.random().toString(36).slice(2)}`);
      this.state.set(name, v);
    }
    return v;
  }

  /**
   * Applies one update; grads are keyed like vars and disposed by the caller. `rate`: one learning
   * rate for all, or one per parameter name; a parameter at rate 0 is skipped, its state as it was.
   */
  apply(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, rate: number | ((name: string) => number)): void {
    this.step++;
    const c = this.config;
    tf.tidy(() => {
      for (const [name, w] of vars) {
        const g0 = grads[name];
        if (!g0) continue;
        const lr = typeof rate === 'number' ? rate : rate(name);
        if (lr === 0) {
          this.skip(name);
          continue;
        }
        const t = this.step - (this.skipped.get(name) ?? 0);
        const decay = exempt(name) ? 0 : c.weightDecay;
        if ((c.name === 'adam' || c.name === 'adamw') && tf.getBackend() === NATIVE_BACKEND) {
          // One fused pass per tensor instead of ~12 element-wise kernels.
          const m = this.slot(`${name}/m`, w), v = this.slot(`${name}/v`, w);
          const [w2, m2, v2] = tf.engine().runKernel(FusedKernel.adam, { w, g: g0, m, v }, {
            beta1: c.beta1, beta2: c.beta2,
            stepSize: lr * Math.sqrt(1 - c.beta2 ** t) / (1 - c.beta1 ** t),
            epsHat: c.epsilon * Math.sqrt(1 - c.beta2 ** t),
            l2: c.name === 'adam' ? decay : 0,
            decoupled: c.name === 'adamw' ? lr * decay : 0,
          }) as tf.Tensor[];
          w.assign(w2!);
          m.assign(m2!);
          v.assign(v2!);
        } else if (c.name === 'adam' || c.name === 'adamw') {
          const g = c.name === 'adam' && decay ? tf.add(g0, tf.mul(w, decay)) : g0;
          const m = this.slot(`${name}/m`, w), v = this.slot(`${name}/v`, w);
          m.assign(tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1)));
          v.assign(tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2)));
          const stepSize = lr * Math.sqrt(1 - c.beta2 ** t) / (1 - c.beta1 ** t);
          let update = tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), c.epsilon * Math.sqrt(1 - c.beta2 ** t)));
          if (c.name === 'adamw' && decay) update = tf.add(update, tf.mul(w, lr * decay));
          w.assign(tf.sub(w, update));
        } else {
          let g = decay ? tf.add(g0, tf.mul(w, decay)) : g0;
          let scaled: tf.Scalar | number = lr;
          if (c.name === 'lars' && !exempt(name)) {
            const wn = tf.norm(w), gn = tf.norm(g);
            const trust = tf.where(tf.logicalAnd(tf.greater(wn, 0), tf.greater(gn, 0)), tf.div(tf.mul(wn, c.larsEta), gn), tf.onesLike(wn));
            scaled = tf.mul(trust, lr) as tf.Scalar;
          }
          g = tf.mul(g, scaled);
          const buf = this.slot(`${name}/momentum`, w);
          buf.assign(tf.add(tf.mul(buf, c.momentum), g));
          w.assign(tf.sub(w, buf));
        }
      }
    });
  }

  /** Named tensors for a checkpoint (the step count travels in the checkpoint's metadata). */
  tensors(): [string, tf.Variable][] {
    return [...this.state];
  }

  restore(tensors: Map<string, tf.Tensor>, step: number): void {
    this.dispose();
    for (const [name, t] of tensors) {
      this.state.set(name, tf.variable(t, false, `opt:${name}#${Math.random().toString(36).slice(2)}`));
      if (name.endsWith('/skipped')) this.skipped.set(name.slice(0, -'/skipped'.length), t.dataSync()[0]!);
    }
    this.step = step;
  }

  dispose(): void {
    for (const v of this.state.values()) v.dispose();
    this.state.clear();
    this.skipped.clear();
  }
}

/** Linear warm-up, then a cosine decay to `finalFraction` of the peak (Loshchilov & Hutter, 2017). */
export function learningRateAt(step: number, totalSteps: number, peak: number, warmupSteps: number, finalFraction = 0): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return peak * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Exponential moving average of `source` into `target` (teacher networks): t ← m·t + (1 − m)·s. */
export function emaUpdate(target: Map<string, tf.Variable>, source: Map<string, tf.Variable>, momentum: number): void {
  tf.tidy(() => {
    for (const [name, t] of target) {
      const s = source.get(name);
      if (s) t.assign(tf.add(tf.mul(t, momentum), tf.mul(s, 1 - momentum)));
    }
  });
}

/** BYOL's teacher momentum schedule: 1 − (1 − base)·(cos(πk/K) + 1)/2. */
export function cosineMomentum(step: number, totalSteps: number, base: number): number {
  return 1 - (1 - base) * (Math.cos((Math.PI * step) / Math.max(1, totalSteps)) + 1) / 2;
}

/**
 * The cosine schedule for a teacher that the student learns from (BYOL, DINO), with the base
 * capped at 1 − 40/K: the teacher's memory (1/(1 − m) steps) is at most a fortieth of the run.
 * The papers' 0.99–0.996 assume 10⁴–10⁵ steps; in a few-hundred-step CPU run such a teacher barely
 * leaves its random initialisation. Fashion-MNIST, 375 steps of BYOL: 66.7% kNN from 0.947, 73.1%
 * from 0.9 (PyTorch, same budget: 71.2% from 0.9). A key encoder for a queue (MoCo) is not capped:
 * its slowness is what keeps the queue consistent.
 */
export function teacherMomentum(step: number, totalSteps: number, base: number): number {
  return cosineMomentum(step, totalSteps, Math.min(base, Math.max(0.5, 1 - 40 / Math.max(1, totalSteps))));
}
