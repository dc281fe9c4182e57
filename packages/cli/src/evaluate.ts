import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batches, type ImageDataset, type ImageSplit } from '@srq/datasets';

/** Test error (percent) with inference-mode rounding, and mean cross-entropy. */
export function evaluate(model: tfl.LayersModel, dataset: ImageDataset, split: ImageSplit, batchSize = 500): { error: number; loss: number } {
  let wrong = 0;
  let lossSum = 0;
  for (const batch of batches(dataset, split, { batchSize })) {
    const [w, l] = tf.tidy(() => {
      const logits = model.apply(batch.x, { training: false }) as tf.Tensor;
      const miss = tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), tf.argMax(batch.y, 1)), 'float32'));
      const ce = tf.mul(tf.losses.softmaxCrossEntropy(batch.y, logits), batch.size);
      return [miss.dataSync()[0]!, ce.dataSync()[0]!];
    });
    wrong += w!;
    lossSum += l!;
    tf.dispose([batch.x, batch.y]);
  }
  return { error: (100 * wrong) / split.count, loss: lossSum / split.count };
}
