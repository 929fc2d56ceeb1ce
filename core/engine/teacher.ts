// Helpers for methods with a second network (BYOL's target, MoCo's key encoder, DINO's teacher):
// copy a group of parameters onto another, and move one towards the other by EMA. Groups are
// named by prefix ("encoder/" ↔ "teacher/"), so every tensor — weights and BN statistics — pairs
// up by the rest of its name.
import * as tf from '@tensorflow/tfjs';
import type { Params } from './nn/params.ts';

export function pairByPrefix(params: Params, from: string, to: string): [tf.Variable, tf.Variable][] {
  const out: [tf.Variable, tf.Variable][] = [];
  for (const [name, target] of params.withPrefix(to)) {
    const source = params.get(from + name.slice(to.length));
    out.push([source, target]);
  }
  return out;
}

/** target ← source, and the target stops being trained (it is moved by EMA only). */
export function copyAsTeacher(params: Params, from: string, to: string): void {
  for (const [name, target] of params.withPrefix(to)) {
    target.assign(params.get(from + name.slice(to.length)));
    target.trainable = false;
    if (params.trainable.delete(name)) params.state.set(name, target);
  }
}

/** target ← m·target + (1 − m)·source for every pair (BN running statistics included). */
export function emaTowards(params: Params, from: string, to: string, momentum: number): void {
  tf.tidy(() => {
    for (const [source, target] of pairByPrefix(params, from, to)) target.assign(tf.add(tf.mul(target, momentum), tf.mul(source, 1 - momentum)));
  });
}

/** Identity forward, zero gradient: the stop-gradient of SimSiam, BYOL and friends. */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
