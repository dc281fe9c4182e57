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
  const { lambda } = options;
  check(typeof lambda === 'number' && lambda >= 0 && Number.isFinite(lambda), 'lambda', lambda, 'a finite number ≥ 0');
  const { sizes, total, target } = budgetOf(gates, options);
  return tf.tidy(() => {
    const bits = tf.stack(gates.map((g) => g.penalty()));
    if (target === undefined) return tf.mul(lambda, tf.sum(bits)) as tf.Scalar;
    const weights = tf.tensor1d(sizes ?? gates.map(() => 1));
    const average = tf.div(tf.sum(tf.mul(bits, weights)), total);
    return tf.mul(lambda, tf.relu(tf.sub(average, target))) as tf.Scalar;
  });
}

/** The checked sizes, their total and the average-bits target of a budget. */
function budgetOf(gates: BitGates[], options: Omit<BitBudgetOptions, 'lambda'>): { sizes: number[] | undefined; total: number; target: number | undefined } {
  const { sizes, targetBytes } = options;
  check(gates.length > 0, 'gates', gates.length, 'at least one BitGates');
  check(sizes === undefined || (sizes.length === gates.length && sizes.every((n) => n > 0)), 'sizes', sizes, `${gates.length} positive element counts, one per gate set`);
  check(targetBytes === undefined || sizes !== undefined, 'targetBytes', targetBytes, 'only together with sizes');
  const total = sizes ? sizes.reduce((a, b) => a + b, 0) : gates.length;
  const target = targetBytes !== undefined ? (8 * targetBytes) / total : options.targetBits;
  check(target === undefined || (typeof target === 'number' && target >= 1), 'targetBits', target, 'a number ≥ 1 (average bits)');
  return { sizes, total, target };
}

/**
 * Makes the learned bit-widths keep a budget after training (specification §5): while their
 * average (weighted by `sizes`) is above the target, closes the least certain gate of all — the
 * lowest kept bit with the smallest logit. The penalty constrains expected bits during training;
 * this constrains the bits inference uses. A no-op without a target or within it.
 *
 * @returns how many bits were dropped
 * @example
 * ```ts
 * fitBitBudget(gates, { targetBits: 2.5 }); // after training; then evaluate
 * ```
 */
export function fitBitBudget(gates: BitGates[], options: Omit<BitBudgetOptions, 'lambda'>): number {
  const { sizes, total, target } = budgetOf(gates, options);
  if (target === undefined) return 0;
  const weights = sizes ?? gates.map(() => 1);
  const bits = gates.map((g) => g.learnedBits());
  const average = () => bits.reduce((a, b, i) => a + b * weights[i]!, 0) / total;
  let dropped = 0;
  while (average() > target + 1e-9) {
    let pick = -1;
    let lowest = Infinity;
    gates.forEach((g, i) => {
      const logit = g.lowestKeptLogit();
      if (logit !== null && logit < lowest) [pick, lowest] = [i, logit];
    });
    if (pick < 0 || !gates[pick]!.dropLowestBit()) break; // every quantizer at 1 bit
    bits[pick]!--;
    dropped++;
  }
  return dropped;
}
