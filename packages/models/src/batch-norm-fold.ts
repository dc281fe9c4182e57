import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Batch normalisation folded into a quantized weight layer (plain JSON: part of the layer config). */
export interface BatchNormFoldConfig {
  /** Added to the variance (as in BatchNormalization). */
  epsilon: number;
  /** Of the moving averages: `moving = moving·momentum + batch·(1 − momentum)`. */
  momentum: number;
  /**
   * Training steps that fold with the batch's statistics (and update the moving averages); after
   * them the statistics freeze and training folds with the moving averages, as inference does.
   */
  freezeAfter: number;
}

/** Default of {@link BatchNormFoldConfig.freezeAfter}: folding with batch statistics for this many training steps. */
export const BN_FREEZE_AFTER = 1000;

interface LayerInternals {
  addWeight(name: string, shape: number[], dtype: 'float32', initializer: ReturnType<typeof tfl.initializers.zeros>, regularizer?: unknown, trainable?: boolean): tfl.LayerVariable;
}

/**
 * The batch normalisation that follows a convolution or dense layer, folded into it for
 * quantization-aware training (Jacob et al. 2018; TensorFlow Model Optimization): the quantizer
 * sees the folded kernel `W·γ/σ` and the layer adds the folded bias `β + γ·(b − μ)/σ`, so that
 * what trains is what an integer-only inference runs. Before {@link BatchNormFoldConfig.freezeAfter}
 * training steps, μ and σ are the batch's (computed from a float pass of the layer) and the moving
 * averages are updated; after, and at inference, they are the moving averages.
 */
export class FoldedBatchNorm {
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;
  private movingMean: tfl.LayerVariable | null = null;
  private movingVariance: tfl.LayerVariable | null = null;
  private stepsVar: tfl.LayerVariable | null = null;

  constructor(readonly config: BatchNormFoldConfig) {}

  /** Adds γ, β, the moving averages and a step counter as weights of `layer`, for `channels` outputs. */
  build(layer: tfl.layers.Layer, channels: number): void {
    const l = layer as unknown as LayerInternals;
    this.gamma = l.addWeight('gamma', [channels], 'float32', tfl.initializers.ones());
    this.beta = l.addWeight('beta', [channels], 'float32', tfl.initializers.zeros());
    this.movingMean = l.addWeight('moving_mean', [channels], 'float32', tfl.initializers.zeros(), undefined, false);
    this.movingVariance = l.addWeight('moving_variance', [channels], 'float32', tfl.initializers.ones(), undefined, false);
    this.stepsVar = l.addWeight('bn_steps', [], 'float32', tfl.initializers.zeros(), undefined, false);
  }

  /**
   * The per-channel scale `γ/σ` and the folded bias for one call. `output` computes the layer's
   * float output with its bias (`z = W·x + b`), needed only while the batch statistics are used.
   */
  fold(training: boolean, output: () => tf.Tensor, bias: tf.Tensor | null): { scale: tf.Tensor; bias: tf.Tensor } {
    let mean = this.movingMean!.read();
    let variance = this.movingVariance!.read();
    if (training) {
      // read every call (one number): data-parallel replicas and resumed runs get it with the weights
      const steps = this.stepsVar!.read().dataSync()[0]!;
      if (steps < this.config.freezeAfter) {
        const z = output();
        const moments = tf.moments(z, z.shape.slice(0, -1).map((_, i) => i));
        mean = moments.mean;
        variance = moments.variance;
        const m = this.config.momentum;
        this.movingMean!.write(tf.add(tf.mul(this.movingMean!.read(), m), tf.mul(mean, 1 - m)));
        this.movingVariance!.write(tf.add(tf.mul(this.movingVariance!.read(), m), tf.mul(variance, 1 - m)));
      }
      this.stepsVar!.write(tf.scalar(steps + 1));
    }
    const scale = tf.div(this.gamma!.read(), tf.sqrt(tf.add(variance, this.config.epsilon)));
    const centred = bias ? tf.sub(bias, mean) : tf.neg(mean);
    return { scale, bias: tf.add(this.beta!.read(), tf.mul(scale, centred)) };
  }
}
