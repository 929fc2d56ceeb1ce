// Named parameters of a network: trainable variables and non-trainable state (BN running
// statistics). Names are stable paths ("encoder/stage1/block0/conv1/kernel") so checkpoints,
// exports and EMA teachers address the same tensors by name.
import * as tf from '@tensorflow/tfjs';

export class Params {
  readonly trainable = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();

  add(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.trainable.has(name) || this.state.has(name)) throw new Error(`duplicate parameter ${name}`);
    const v = tf.variable(init, trainable, `${name}#${Params.uid++}`);
    init.dispose();
    (trainable ? this.trainable : this.state).set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.trainable.get(name) ?? this.state.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  /** Every tensor by name, trainable first. */
  all(): [string, tf.Variable][] {
    return [...this.trainable, ...this.state];
  }

  withPrefix(prefix: string): [string, tf.Variable][] {
    return this.all().filter(([n]) => n.startsWith(prefix));
  }

  count(prefix = ''): number {
    return [...this.trainable].filter(([n]) => n.startsWith(prefix)).reduce((s, [, v]) => s + v.size, 0);
  }

  dispose(): void {
    for (const [, v] of this.all()) v.dispose();
    this.trainable.clear();
    this.state.clear();
  }

  private static uid = 0;
}

/** Batch statistics produced by one training forward pass, folded into running averages after the step. */
export class BatchStatsLog {
  readonly entries: { name: string; mean: tf.Tensor; variance: tf.Tensor; count: number }[] = [];

  record(name: string, mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    this.entries.push({ name, mean: tf.keep(mean), variance: tf.keep(variance), count });
  }

  /** running = (1 − momentum)·running + momentum·batch (PyTorch's convention), unbiased variance. */
  apply(params: Params, momentum = 0.1): void {
    tf.tidy(() => {
      for (const e of this.entries) {
        const rm = params.get(`${e.name}/running_mean`), rv = params.get(`${e.name}/running_var`);
        rm.assign(tf.add(tf.mul(rm, 1 - momentum), tf.mul(e.mean, momentum)));
        const unbiased = tf.mul(e.variance, e.count / Math.max(1, e.count - 1));
        rv.assign(tf.add(tf.mul(rv, 1 - momentum), tf.mul(unbiased, momentum)));
      }
    });
    this.dispose();
  }

  dispose(): void {
    for (const e of this.entries) {
      e.mean.dispose();
      e.variance.dispose();
    }
    this.entries.length = 0;
  }
}

/** What a forward pass needs to know: training mode collects batch statistics. */
export interface ForwardMode {
  training: boolean;
  stats?: BatchStatsLog;
}
