// How a method that learns from labels batches them (the trainer), and what the Train form tells
// the person before they start: no dependencies, so the renderer imports it too.

/**
 * Batch size and steps per epoch over `labelled` images: an epoch is one pass over them, and while
 * labels are few the batch shrinks (to 16 at least) so an epoch still has 4 steps.
 */
export function labelBatching(labelled: number, batchSize: number): { batch: number; stepsPerEpoch: number } {
  const batch = Math.max(2, Math.min(batchSize, labelled, Math.max(16, Math.floor(labelled / 4))));
  return { batch, stepsPerEpoch: Math.max(1, Math.floor(labelled / batch)) };
}
