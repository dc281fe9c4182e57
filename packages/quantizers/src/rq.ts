import * as tf from '@tensorflow/tfjs-core';
import type { GridWindow } from './categorical';
import { exponentialStream } from './fused-srq';
import type { Selection } from './srq';

/**
 * Standard Gumbel noise `-log(-log u)`, reproducible from `seed`: from the stream the fused kernel
 * draws ({@link exponentialStream}), so that both paths of `quantize()` sample the same noise.
 */
export function gumbelNoise(shape: number[], seed: number): tf.Tensor {
  const exponential = exponentialStream(seed);
  const next = () => -Math.log(exponential());
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, next), shape);
}

/**
 * Relaxed Quantization (specification §3): a concrete (Gumbel-softmax) sample
 * `z = softmax((log π + u)/λ)`, `x̂ = Σ z_i g_i`. With `hard` (RQ-ST) the forward pass outputs the
 * grid point of the hard sample `argmax z` and the backward pass uses the concrete sample's
 * gradient.
 */
export function selectRq(logits: tf.Tensor, window: GridWindow, temperature: number, seed: number, hard: boolean): Selection {
  const z = tf.softmax(tf.div(tf.add(logits, gumbelNoise(logits.shape, seed)), temperature));
  const size = logits.shape[logits.rank - 1]!;
  const pick = hard ? tf.oneHot(tf.argMax(z, -1), size, 1, 0, 'float32') : z;
  return { code: tf.sum(tf.mul(pick, window.codes), -1), weights: z, kappa: 1 / temperature };
}
