import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { convOutputSize, firstShape, QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';

/** Arguments of {@link QConv1D}. */
export interface QConv1DArgs extends QWeightLayerArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: 'valid' | 'same';
}

/** A 1-D convolution (NWC; kernel `[k, channels, filters]`) whose kernel is quantized in every call; the bias stays float. */
export class QConv1D extends QWeightLayer {
  static className = 'QConv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'valid' | 'same';

  constructor(args: QConv1DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.padding = args.padding ?? 'valid';
  }

  protected kernelShape(inputShape: tfl.Shape): number[] {
    return [this.kernelSize, inputShape[inputShape.length - 1] as number, this.filters];
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.conv1d(x as tf.Tensor3D, kernel as tf.Tensor3D, this.strides, this.padding);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = firstShape(inputShape);
    return [shape[0] as number | null, convOutputSize(shape[1] as number | null, this.kernelSize, this.strides, this.padding), this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding };
  }
}
tf.serialization.registerClass(QConv1D);
