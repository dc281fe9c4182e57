import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { firstShape, QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';

/** Arguments of {@link QDense}. */
export interface QDenseArgs extends QWeightLayerArgs {
  units: number;
}

/**
 * A fully connected layer whose kernel is quantized in every call (see {@link QConv2D}); the
 * bias stays float. Inputs of rank 2 (`[batch, features]`) or more (applied over the last axis).
 */
export class QDense extends QWeightLayer {
  static className = 'QDense';
  readonly units: number;

  constructor(args: QDenseArgs) {
    super(args);
    this.units = args.units;
  }

  protected kernelShape(inputShape: tfl.Shape): number[] {
    return [inputShape[inputShape.length - 1] as number, this.units];
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
    // inputs of rank > 2 (e.g. [batch, steps, features]): over the last axis, as tfjs' Dense
    const flat = tf.matMul(tf.reshape(x, [-1, x.shape.at(-1)!]) as tf.Tensor2D, kernel as tf.Tensor2D);
    return tf.reshape(flat, [...x.shape.slice(0, -1), this.units]);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [...firstShape(inputShape).slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
tf.serialization.registerClass(QDense);
