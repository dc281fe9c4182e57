import * as tf from '@tensorflow/tfjs-core';
import type { BitGates } from './bit-gates';
import { check } from './errors';

/** Options of {@link bitBudgetPenalty}. */
export interface BitBudgetOptions {
  /** Weight λ of the penalty (≥ 0). */
  lambda: number;
  /**
   * Elements quantized by each gate set (e.g. weights per layer): the average becomes bits per
   * element, so that the budget is a model size. Default: a plain average over quantizers.
   */
  sizes?: number[];
  /** Average bits to aim for: the penalty only counts the excess over it. */
  targetBits?: number;
  /** Model size to aim for, in bytes of packed codes (needs `sizes`); replaces `targetBits`. */
  targetBytes?: number;
}

/**
 * The expected-bits penalty of several quantizers (specification §5). Without a target,
 * `λ·Σ_q E[bits_q]`; with one, `λ·max(0, avg_q E[bits_q] - target)` where the average is weighted
 * by `sizes` when given (`targetBytes` = `target·Σ sizes / 8`). Differentiable in every gate logit.
 *
 * @returns a scalar to add to the task loss
 * @throws {@link DropBitsConfigError} for a negative λ, `sizes` of the wrong length, or `targetBytes` without `sizes`
 * @example
 * ```ts
 * const loss = tf.add(taskLoss, bitBudgetPenalty(gates, { lambda: 1, targetBits: 2.5 }));
 * ```
 */
export function bitBudgetPenalty(gates: BitGates[], options: BitBudgetOptions): tf.Scalar {
  const { lambda, sizes, targetBytes } = options;
  check(typeof lambda === 'number' && lambda >= 0 && Number.isFinite(lambda), 'lambda', lambda, 'a finite number ≥ 0');
  check(gates.length > 0, 'gates', gates.length, 'at least one BitGates');
  check(sizes === undefined || (sizes.length === gates.length && sizes.every((n) => n > 0)), 'sizes', sizes, `${gates.length} positive element counts, one per gate set`);
  check(targetBytes === undefined || sizes !== undefined, 'targetBytes', targetBytes, 'only together with sizes');
  const total = sizes ? sizes.reduce((a, b) => a + b, 0) : gates.length;
  const target = targetBytes !== undefined ? (8 * targetBytes) / total : options.targetBits;
  check(target === undefined || (typeof target === 'number' && target >= 1), 'targetBits', target, 'a number ≥ 1 (average bits)');
  return tf.tidy(() => {
    const bits = tf.stack(gates.map((g) => g.penalty()));
    if (target === undefined) return tf.mul(lambda, tf.sum(bits)) as tf.Scalar;
    const weights = tf.tensor1d(sizes ?? gates.map(() => 1));
    const average = tf.div(tf.sum(tf.mul(bits, weights)), total);
    return tf.mul(lambda, tf.relu(tf.sub(average, target))) as tf.Scalar;
  });
}
