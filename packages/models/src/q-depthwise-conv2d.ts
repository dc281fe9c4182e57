import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { convOutputSize, firstShape, QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';

/** Arguments of {@link QDepthwiseConv2D}. */
export interface QDepthwiseConv2DArgs extends QWeightLayerArgs {
  kernelSize: number | [number, number];
  depthMultiplier?: number;
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/**
 * A depthwise 2-D convolution (NHWC; kernel `[kh, kw, channels, depthMultiplier]`) whose kernel is
 * quantized in every call, with one step α per input channel (`perChannel` along axis 2): the
 * ranges of depthwise filters differ widely between channels. The bias stays float.
 */
export class QDepthwiseConv2D extends QWeightLayer {
  static className = 'QDepthwiseConv2D';
  readonly kernelSize: [number, number];
  readonly depthMultiplier: number;
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';

  constructor(args: QDepthwiseConv2DArgs) {
    super(args);
    this.kernelSize = pair(args.kernelSize);
    this.depthMultiplier = args.depthMultiplier ?? 1;
    this.strides = pair(args.strides ?? 1);
    this.padding = args.padding ?? 'valid';
  }

  protected kernelShape(inputShape: tfl.Shape): number[] {
    return [...this.kernelSize, inputShape[inputShape.length - 1] as number, this.depthMultiplier];
  }

  protected override biasSize(kernelShape: number[]): number {
    return kernelShape[2]! * kernelShape[3]!;
  }

  protected override scaleKernel(kernel: tf.Tensor, scale: tf.Tensor): tf.Tensor {
    return tf.mul(kernel, tf.reshape(scale, kernel.shape.slice(2)));
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.depthwiseConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, this.strides, this.padding);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = firstShape(inputShape);
    const out = [1, 2].map((axis, i) => convOutputSize(shape[axis] as number | null, this.kernelSize[i]!, this.strides[i]!, this.padding));
    return [shape[0] as number | null, out[0]!, out[1]!, (shape[3] as number) * this.depthMultiplier];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize, depthMultiplier: this.depthMultiplier, strides: this.strides, padding: this.padding };
  }
}
tf.serialization.registerClass(QDepthwiseConv2D);
