import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { firstShape, QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';

/** Arguments of {@link QEmbedding}. */
export interface QEmbeddingArgs extends Omit<QWeightLayerArgs, 'useBias' | 'activation' | 'batchNorm'> {
  inputDim: number;
  outputDim: number;
}

/**
 * An embedding whose table (`[inputDim, outputDim]`, stored as the layer's `kernel`) is quantized
 * in every call: each integer index picks a row of the quantized table. No bias.
 */
export class QEmbedding extends QWeightLayer {
  static className = 'QEmbedding';
  readonly inputDim: number;
  readonly outputDim: number;

  constructor(args: QEmbeddingArgs) {
    super({ ...args, useBias: false });
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
  }

  protected kernelShape(): number[] {
    return [this.inputDim, this.outputDim];
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.gather(kernel, tf.cast(x, 'int32'));
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [...firstShape(inputShape), this.outputDim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { useBias: _b, activation: _a, ...rest } = super.getConfig();
    void _b;
    void _a;
    return { ...rest, inputDim: this.inputDim, outputDim: this.outputDim };
  }
}
tf.serialization.registerClass(QEmbedding);
