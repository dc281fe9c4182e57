import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadedQuantConfig, savedQuantConfig, type TensorQuantConfig } from './quant-config';
import { activationName, applyActivation } from './activations';
import { FoldedBatchNorm, type BatchNormFoldConfig } from './batch-norm-fold';
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
  /** A batch normalisation after the layer, folded into it (see {@link FoldedBatchNorm}); null: none. */
  batchNorm?: BatchNormFoldConfig | null;
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
  readonly batchNorm: BatchNormFoldConfig | null;
  private folded: FoldedBatchNorm | null = null;
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
    this.batchNorm = args.batchNorm ?? null;
  }

  /** The kernel shape for an input shape. */
  protected abstract kernelShape(inputShape: tfl.Shape): number[];
  /** The layer's linear map of the input with the (quantized) kernel. */
  protected abstract linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor;

  /** Length of the bias for a kernel shape: its last dimension (output channels). */
  protected biasSize(kernelShape: number[]): number {
    return kernelShape[kernelShape.length - 1]!;
  }

  /** The kernel with each output channel multiplied by `scale` (a vector over the output channels). */
  protected scaleKernel(kernel: tf.Tensor, scale: tf.Tensor): tf.Tensor {
    return tf.mul(kernel, scale);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const kernelShape = this.kernelShape(firstShape(inputShape));
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', tfl.initializers.glorotUniform(this.kernelSeed === undefined ? {} : { seed: this.kernelSeed }));
    if (this.useBias) this.bias = this.addWeight('bias', [this.biasSize(kernelShape)], 'float32', tfl.initializers.zeros());
    if (this.batchNorm) {
      this.folded = new FoldedBatchNorm(this.batchNorm);
      this.folded.build(this, this.biasSize(kernelShape));
    }
    if (this.weightQuant) {
      this.slot = new QuantSlot(this, 'kernel_quant', this.weightQuant);
      this.slot.build(kernelShape);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const training = kwargs.training ?? false;
      const { kernel, bias } = this.effectiveWeights(training, x);
      let y = this.linear(x, this.slot ? this.slot.apply(kernel, training) : kernel);
      if (bias) y = tf.add(y, bias);
      return applyActivation(this.activation, y);
    });
  }

  /**
   * The float kernel and bias the layer quantizes and adds: its own, or with a folded batch
   * normalisation `W·γ/σ` and `β + γ·(b − μ)/σ` (batch statistics of `x` in training before the
   * freeze, the moving averages otherwise). `x` is needed only in training.
   */
  effectiveWeights(training: boolean, x?: tf.Tensor): { kernel: tf.Tensor; bias: tf.Tensor | null } {
    const w = this.kernel!.read();
    const b = this.bias?.read() ?? null;
    if (!this.folded) return { kernel: w, bias: b };
    const output = () => {
      const z = this.linear(x!, w);
      return b ? tf.add(z, b) : z;
    };
    const { scale, bias } = this.folded.fold(training, output, b);
    return { kernel: this.scaleKernel(w, scale), bias };
  }

  /** The kernel as the layer uses it at inference (or in training): quantized, folded, or float. */
  quantizedKernel(training: boolean): tf.Tensor {
    const { kernel } = this.effectiveWeights(training);
    return this.slot ? this.slot.apply(kernel, training) : kernel;
  }

  /** A layer from a saved config, whose quantization means what it meant when saved ({@link loadedQuantConfig}). */
  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls({ ...config, weightQuant: loadedQuantConfig(config.weightQuant as unknown as TensorQuantConfig | null) });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      useBias: this.useBias,
      activation: this.activation,
      weightQuant: savedQuantConfig(this.weightQuant) as unknown as tf.serialization.ConfigDict,
      ...(this.kernelSeed === undefined ? {} : { kernelSeed: this.kernelSeed }),
      ...(this.batchNorm ? { batchNorm: this.batchNorm as unknown as tf.serialization.ConfigDict } : {}),
    };
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
