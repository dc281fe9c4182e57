import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { QConv2D, type QConv2DArgs } from './q-conv2d';
import { firstShape } from './q-weight-layer';

/** Arguments of {@link QConv2DTranspose}: those of a {@link QConv2D}. */
export type QConv2DTransposeArgs = QConv2DArgs;

/** Output size of a transposed convolution along one axis. */
const transposedSize = (size: number | null, kernel: number, stride: number, padding: 'valid' | 'same'): number | null =>
  size === null ? null : padding === 'same' ? size * stride : (size - 1) * stride + kernel;

/**
 * A transposed 2-D convolution (NHWC; kernel `[kh, kw, filters, channels]`, as tfjs'
 * Conv2DTranspose) whose kernel is quantized in every call; the bias (one per filter) stays float.
 * The arguments, fields and configuration of a {@link QConv2D}; its kernel layout, output and
 * folded-BN scaling are the transposed ones.
 */
export class QConv2DTranspose extends QConv2D {
  static override className = 'QConv2DTranspose';

  protected override kernelShape(inputShape: tfl.Shape): number[] {
    return [...this.kernelSize, this.filters, inputShape[inputShape.length - 1] as number];
  }

  protected override biasSize(kernelShape: number[]): number {
    return kernelShape[2]!;
  }

  protected override scaleKernel(kernel: tf.Tensor, scale: tf.Tensor): tf.Tensor {
    return tf.mul(kernel, tf.reshape(scale, [1, 1, this.filters, 1]));
  }

  protected override linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    const [n, h, w] = x.shape as [number, number, number, number];
    const out: [number, number, number, number] = [n, transposedSize(h, this.kernelSize[0], this.strides[0], this.padding)!, transposedSize(w, this.kernelSize[1], this.strides[1], this.padding)!, this.filters];
    return tf.conv2dTranspose(x as tf.Tensor4D, kernel as tf.Tensor4D, out, this.strides, this.padding);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = firstShape(inputShape);
    return [shape[0] as number | null, transposedSize(shape[1] as number | null, this.kernelSize[0], this.strides[0], this.padding), transposedSize(shape[2] as number | null, this.kernelSize[1], this.strides[1], this.padding), this.filters];
  }

}
tf.serialization.registerClass(QConv2DTranspose);
