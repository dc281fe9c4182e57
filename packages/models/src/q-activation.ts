import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadedQuantConfig, savedQuantConfig, type TensorQuantConfig } from './quant-config';
import { activationName, applyActivation, type ActivationOptions } from './activations';
import { QuantSlot, type LayerArgs } from './quant-slot';
import { firstShape } from './q-weight-layer';

/** Arguments of {@link QActivation}. */
export interface QActivationArgs extends LayerArgs, ActivationOptions {
  /** The function before quantizing: `'relu'` (default), `'linear'` or any of `ACTIVATION_NAMES`. */
  activation?: string;
  /**
   * Activation quantization (unsigned after ReLU-like functions, signed after the others, see
   * `defaultActivationQuant`); null or absent: a plain activation.
   */
  activationQuant?: TensorQuantConfig | null;
}

/**
 * An activation function followed by an activation quantizer (specification §6: every post-ReLU
 * activation is quantized, on an unsigned grid whose α is initialised from the first batch, or
 * spans a bounded function's range: ReLU6 [0, 6]). `maxValue` clips a ReLU (tfjs' `ReLU` layer),
 * `alpha` is LeakyReLU's slope or ELU's scale.
 */
export class QActivation extends tfl.layers.Layer {
  static className = 'QActivation';
  readonly activation: string;
  readonly maxValue: number | null;
  readonly alpha: number | null;
  readonly activationQuant: TensorQuantConfig | null;
  /** The activation quantizer slot (null for a float activation). */
  slot: QuantSlot | null = null;

  constructor(args: QActivationArgs = {}) {
    super(args);
    this.activation = activationName(args.activation ?? 'relu');
    this.maxValue = args.maxValue ?? null;
    this.alpha = args.alpha ?? null;
    this.activationQuant = args.activationQuant ?? null;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = firstShape(inputShape);
    if (this.activationQuant) {
      this.slot = new QuantSlot(this, 'act_quant', this.activationQuant);
      this.slot.build(shape.map((d) => d ?? 1));
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
      const y = applyActivation(this.activation, x, { maxValue: this.maxValue, alpha: this.alpha });
      return this.slot ? this.slot.apply(y, kwargs.training ?? false) : y;
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  /** A layer from a saved config, whose quantization means what it meant when saved ({@link loadedQuantConfig}). */
  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls({ ...config, activationQuant: loadedQuantConfig(config.activationQuant as unknown as TensorQuantConfig | null) });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.activation, maxValue: this.maxValue, alpha: this.alpha, activationQuant: savedQuantConfig(this.activationQuant) as unknown as tf.serialization.ConfigDict };
  }
}
tf.serialization.registerClass(QActivation);
