import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TensorQuantConfig } from './quant-config';
import { QuantSlot, type LayerArgs } from './quant-slot';
import { firstShape } from './q-weight-layer';

/** Arguments of {@link QActivation}. */
export interface QActivationArgs extends LayerArgs {
  /** `'relu'` (default) or `'linear'` before quantizing. */
  activation?: 'relu' | 'linear';
  /** Activation quantization (an unsigned grid after ReLU); null or absent: a plain activation. */
  activationQuant?: TensorQuantConfig | null;
}

/**
 * ReLU followed by an activation quantizer (specification §6: every post-ReLU activation is
 * quantized, on an unsigned grid whose α is initialised from the first batch).
 */
export class QActivation extends tfl.layers.Layer {
  static className = 'QActivation';
  readonly activation: 'relu' | 'linear';
  readonly activationQuant: TensorQuantConfig | null;
  /** The activation quantizer slot (null for a float activation). */
  slot: QuantSlot | null = null;

  constructor(args: QActivationArgs = {}) {
    super(args);
    this.activation = args.activation ?? 'relu';
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
      const y = this.activation === 'relu' ? tf.relu(x) : x;
      return this.slot ? this.slot.apply(y, kwargs.training ?? false) : y;
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.activation, activationQuant: this.activationQuant as unknown as tf.serialization.ConfigDict };
  }
}
tf.serialization.registerClass(QActivation);
