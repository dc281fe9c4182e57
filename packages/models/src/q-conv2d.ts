import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TensorQuantConfig } from './quant-config';
import { QuantSlot, type LayerArgs } from './quant-slot';

/** Arguments of {@link QConv2D}. */
export interface QConv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  useBias?: boolean;
  /** `'relu'` or `'linear'` (default); quantize activations with a {@link QActivation} after it. */
  activation?: 'relu' | 'linear';
  /** Weight quantization; null or absent keeps the kernel float. */
  weightQuant?: TensorQuantConfig | null;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/**
 * A 2-D convolution (NHWC) whose kernel is quantized by a {@link Quantizer} of `@srq/quantizers`
 * in every call (training: the method's forward and gradients; inference: rounding to the grid).
 * The bias stays float (ALGORITHM.md §6). Serialisable: `model.save()` / `tf.loadLayersModel()`
 * keep the quantizer configuration and its learned α, σ (and gates).
 */
export class QConv2D extends tfl.layers.Layer {
  static className = 'QConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly useBias: boolean;
  readonly activation: 'relu' | 'linear';
  readonly weightQuant: TensorQuantConfig | null;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;
  /** The kernel's quantizer slot (null for a float layer). */
  slot: QuantSlot | null = null;

  constructor(args: QConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize);
    this.strides = pair(args.strides ?? 1);
    this.padding = args.padding ?? 'valid';
    this.useBias = args.useBias ?? true;
    this.activation = args.activation ?? 'linear';
    this.weightQuant = args.weightQuant ?? null;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inChannels = shape[shape.length - 1] as number;
    const kernelShape = [...this.kernelSize, inChannels, this.filters];
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', tfl.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tfl.initializers.zeros());
    if (this.weightQuant) {
      this.slot = new QuantSlot(this, 'kernel_quant', this.weightQuant);
      this.slot.build(kernelShape);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const w = this.quantizedKernel(kwargs.training ?? false) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(x, w, this.strides, this.padding);
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.activation === 'relu' ? tf.relu(y) : y;
    });
  }

  /** The kernel as the layer uses it: quantized (training or inference rule) or float. */
  quantizedKernel(training: boolean): tf.Tensor {
    const w = this.kernel!.read();
    return this.slot ? this.slot.apply(w, training) : w;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const out = [1, 2].map((axis, i) => {
      const size = shape[axis] as number | null;
      if (size === null) return null;
      const k = this.kernelSize[i]!;
      const s = this.strides[i]!;
      return this.padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
    });
    return [shape[0] as number | null, out[0]!, out[1]!, this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      useBias: this.useBias,
      activation: this.activation,
      weightQuant: this.weightQuant as unknown as tf.serialization.ConfigDict,
    };
  }
}
tf.serialization.registerClass(QConv2D);
