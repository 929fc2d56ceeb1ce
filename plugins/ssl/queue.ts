// A ring buffer of embeddings in a tf.Variable (MoCo's negatives, SwAV's earlier crops). The write
// position follows from the step (the batch is constant), so a resumed run needs no pointer.
import * as tf from '@tensorflow/tfjs';

/** Writes the rows of `batch` (at most the queue's length) into `queue` at step `step`'s position. */
export function enqueue(queue: tf.Variable, batch: tf.Tensor2D, step: number): void {
  const size = queue.shape[0]!;
  const n = Math.min(batch.shape[0], size);
  const start = (step * n) % size;
  tf.tidy(() => {
    const rows = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => (start + i) % size), 'int32'), size);
    const mask = tf.reshape(tf.sum(rows, 0), [size, 1]);
    queue.assign(tf.add(tf.mul(queue, tf.sub(1, mask)), tf.matMul(rows, tf.slice(batch, [0, 0], [n, -1]), true, false)));
  });
}

/** Rows of the queue written by the steps before `step` (all of it once it has wrapped). */
export const filledRows = (queue: tf.Variable, batch: number, step: number): number => Math.min(queue.shape[0]!, step * batch);
