import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { firstShape, QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';

/** Arguments of {@link QDense}. */
export interface QDenseArgs extends QWeightLayerArgs {
  units: number;
}

/**
 * A fully connected layer whose kernel is quantized in every call (see {@link QConv2D}); the
 * bias stays float. Input rank 2 (`[batch, features]`).
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
    return tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [...firstShape(inputShape).slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
tf.serialization.registerClass(QDense);
