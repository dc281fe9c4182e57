import * as tf from '@tensorflow/tfjs-core';

/**
 * Hard-concrete distribution of Louizos, Welling & Kingma 2018 ("Learning Sparse Neural Networks
 * through L0 Regularization") with the stretch (γ, ζ) and temperature β used by specification §5.
 */
export const HARD_CONCRETE = { beta: 2 / 3, gamma: -0.1, zeta: 1.1 } as const;

/**
 * A sample `z = clip(Sigmoid((log u - log(1-u) + log a)/β)·(ζ-γ) + γ, 0, 1)`, u ~ U(0, 1):
 * exactly 0 or 1 with positive probability, differentiable in log a in between.
 */
export function sampleHardConcrete(logA: tf.Tensor, seed: number, beta: number = HARD_CONCRETE.beta): tf.Tensor {
  return tf.tidy(() => {
    const { gamma, zeta } = HARD_CONCRETE;
    const u = tf.clipByValue(tf.randomUniform(logA.shape, 0, 1, 'float32', seed), 1e-6, 1 - 1e-6);
    const s = tf.sigmoid(tf.div(tf.add(tf.sub(tf.log(u), tf.log1p(tf.neg(u))), logA), beta));
    return tf.clipByValue(tf.add(tf.mul(s, zeta - gamma), gamma), 0, 1);
  });
}

/** The deterministic test-time gate `clip(Sigmoid(log a)·(ζ-γ) + γ, 0, 1)`. */
export function deterministicHardConcrete(logA: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { gamma, zeta } = HARD_CONCRETE;
    return tf.clipByValue(tf.add(tf.mul(tf.sigmoid(logA), zeta - gamma), gamma), 0, 1);
  });
}

/** `P(z > 0) = Sigmoid(log a - β·log(-γ/ζ))`, differentiable in log a: the expected L0 norm of a gate. */
export function probabilityNonZero(logA: tf.Tensor, beta: number = HARD_CONCRETE.beta): tf.Tensor {
  const { gamma, zeta } = HARD_CONCRETE;
  return tf.sigmoid(tf.sub(logA, beta * Math.log(-gamma / zeta)));
}
