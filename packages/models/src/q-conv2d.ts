import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { convOutputSize, firstShape, QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';

/** Arguments of {@link QConv2D}. */
export interface QConv2DArgs extends QWeightLayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/**
 * A 2-D convolution (NHWC) whose kernel is quantized by a {@link Quantizer} of `@srq/quantizers`
 * in every call; the bias stays float. Serialisable: `model.save()` / `tf.loadLayersModel()` keep
 * the quantizer configuration and its learned α, σ (and gates).
 */
export class QConv2D extends QWeightLayer {
  static className = 'QConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';

  constructor(args: QConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize);
    this.strides = pair(args.strides ?? 1);
    this.padding = args.padding ?? 'valid';
  }

  protected kernelShape(inputShape: tfl.Shape): number[] {
    return [...this.kernelSize, inputShape[inputShape.length - 1] as number, this.filters];
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, this.strides, this.padding);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = firstShape(inputShape);
    const out = [1, 2].map((axis, i) => convOutputSize(shape[axis] as number | null, this.kernelSize[i]!, this.strides[i]!, this.padding));
    return [shape[0] as number | null, out[0]!, out[1]!, this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding };
  }
}
tf.serialization.registerClass(QConv2D);
