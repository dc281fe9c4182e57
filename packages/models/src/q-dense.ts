import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TensorQuantConfig } from './quant-config';
import { QuantSlot, type LayerArgs } from './quant-slot';

/** Arguments of {@link QDense}. */
export interface QDenseArgs extends LayerArgs {
  units: number;
  useBias?: boolean;
  /** `'relu'` or `'linear'` (default). */
  activation?: 'relu' | 'linear';
  /** Weight quantization; null or absent keeps the kernel float. */
  weightQuant?: TensorQuantConfig | null;
}

/**
 * A fully connected layer whose kernel is quantized in every call (see {@link QConv2D}); the
 * bias stays float. Input rank 2 (`[batch, features]`).
 */
export class QDense extends tfl.layers.Layer {
  static className = 'QDense';
  readonly units: number;
  readonly useBias: boolean;
  readonly activation: 'relu' | 'linear';
  readonly weightQuant: TensorQuantConfig | null;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;
  /** The kernel's quantizer slot (null for a float layer). */
  slot: QuantSlot | null = null;

  constructor(args: QDenseArgs) {
    super(args);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    this.activation = args.activation ?? 'linear';
    this.weightQuant = args.weightQuant ?? null;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const kernelShape = [shape[shape.length - 1] as number, this.units];
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', tfl.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros());
    if (this.weightQuant) {
      this.slot = new QuantSlot(this, 'kernel_quant', this.weightQuant);
      this.slot.build(kernelShape);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const w = this.quantizedKernel(kwargs.training ?? false) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(x, w);
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
    return [...shape.slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      useBias: this.useBias,
      activation: this.activation,
      weightQuant: this.weightQuant as unknown as tf.serialization.ConfigDict,
    };
  }
}
tf.serialization.registerClass(QDense);
