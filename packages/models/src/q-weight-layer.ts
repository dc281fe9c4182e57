import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TensorQuantConfig } from './quant-config';
import { activationName, applyActivation } from './activations';
import { QuantSlot, type LayerArgs } from './quant-slot';

/** Arguments shared by the quantized weight layers. */
export interface QWeightLayerArgs extends LayerArgs {
  useBias?: boolean;
  /**
   * Activation applied after the linear map and the bias (default `'linear'`; any of
   * `ACTIVATION_NAMES`). To quantize the activations, use `'linear'` here and a `QActivation` after it.
   */
  activation?: string;
  /** Weight quantization; null or absent keeps the kernel float. */
  weightQuant?: TensorQuantConfig | null;
  /** Seed of the kernel's Glorot-uniform initialisation (absent: unseeded, as tfjs-layers). */
  kernelSeed?: number;
}

/**
 * What QConv2D and QDense share: a kernel quantized by a {@link QuantSlot} in every call
 * (training: the method's forward and gradients; inference: rounding to the grid), a float bias
 * (specification §6), an optional ReLU, and the serialised quantization config.
 */
export abstract class QWeightLayer extends tfl.layers.Layer {
  readonly useBias: boolean;
  readonly activation: string;
  readonly weightQuant: TensorQuantConfig | null;
  readonly kernelSeed: number | undefined;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;
  /** The kernel's quantizer slot (null for a float layer). */
  slot: QuantSlot | null = null;

  constructor(args: QWeightLayerArgs) {
    super(args);
    this.useBias = args.useBias ?? true;
    this.activation = activationName(args.activation ?? 'linear');
    this.weightQuant = args.weightQuant ?? null;
    this.kernelSeed = args.kernelSeed;
  }

  /** The kernel shape for an input shape. */
  protected abstract kernelShape(inputShape: tfl.Shape): number[];
  /** The layer's linear map of the input with the (quantized) kernel. */
  protected abstract linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor;

  /** Length of the bias for a kernel shape: its last dimension (output channels). */
  protected biasSize(kernelShape: number[]): number {
    return kernelShape[kernelShape.length - 1]!;
  }


  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const kernelShape = this.kernelShape(firstShape(inputShape));
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', tfl.initializers.glorotUniform(this.kernelSeed === undefined ? {} : { seed: this.kernelSeed }));
    if (this.useBias) this.bias = this.addWeight('bias', [this.biasSize(kernelShape)], 'float32', tfl.initializers.zeros());
    if (this.weightQuant) {
      this.slot = new QuantSlot(this, 'kernel_quant', this.weightQuant);
      this.slot.build(kernelShape);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      let y = this.linear(x, this.quantizedKernel(kwargs.training ?? false));
      if (this.bias) y = tf.add(y, this.bias.read());
      return applyActivation(this.activation, y);
    });
  }

  /** The kernel as the layer uses it: quantized (training or inference rule) or float. */
  quantizedKernel(training: boolean): tf.Tensor {
    const w = this.kernel!.read();
    return this.slot ? this.slot.apply(w, training) : w;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), useBias: this.useBias, activation: this.activation, weightQuant: this.weightQuant as unknown as tf.serialization.ConfigDict, ...(this.kernelSeed === undefined ? {} : { kernelSeed: this.kernelSeed }) };
  }
}

/** The (first) input shape of a layer call. */
export function firstShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}

/** Output size of a convolution along one spatial axis ('valid' or 'same' padding), null when unknown. */
export function convOutputSize(size: number | null, kernel: number, stride: number, padding: 'valid' | 'same'): number | null {
  if (size === null) return null;
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - kernel) / stride) + 1;
}
