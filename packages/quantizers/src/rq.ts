import * as tf from '@tensorflow/tfjs-core';
import type { GridWindow } from './categorical';
import type { Selection } from './srq';

/** Uniform noise is kept inside [TINY, 1 - TINY] so that the Gumbel transform stays finite. */
const TINY = 1e-7;

/** Standard Gumbel noise `-log(-log u)`, u ~ U(0, 1), reproducible from `seed`. */
export function gumbelNoise(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.clipByValue(tf.randomUniform(shape, 0, 1, 'float32', seed), TINY, 1 - TINY);
    return tf.neg(tf.log(tf.neg(tf.log(u))));
  });
}

/**
 * Relaxed Quantization (ALGORITHM.md §3): a concrete (Gumbel-softmax) sample
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
