import * as tf from '@tensorflow/tfjs-core';
import type { Grid } from './grid';
import { gridWindow, windowSize, type GridWindow } from './categorical';
import { QuantizerConfigError, QuantizerInputError } from './errors';

/**
 * Weight of each code, called with the window codes `[...x.shape, W]` (float codes) and returning
 * weights in [0, 1] broadcastable to that shape. 0 removes a code; values in between scale its
 * probability (BitGates). Gradients flow through the returned tensor.
 */
export type CodeWeights = (codes: tf.Tensor) => tf.Tensor;

/**
 * The mask hook of {@link Quantizer.apply} (used by `@srq/dropbits`).
 *
 * - `drop`: number of dropped low bits d, a number or a tensor broadcastable to x (per element,
 *   per channel or per tensor). Keeps exactly the codes with bit level ℓ(k) ≥ d, i.e. the
 *   (b-d)-bit grid of step 2^d·α (ALGORITHM.md §4); the local window moves onto that sub-grid, so
 *   any d costs the same.
 * - `weights`: per-code weights, either a function of the window codes ({@link CodeWeights}) or a
 *   1-D tensor with one weight per grid code (ascending from `grid.minCode`).
 *
 * - `pick` (srq, training only): `'nearest'` (default) takes the nearest kept code, the mode of
 *   the masked categorical; `'sample'` picks one of the two kept codes around x with probability
 *   proportional to π (an unbiased stochastic rounding on the sub-grid; elements with d = 0 keep
 *   the nearest code). Not combinable with `weights`. `seed` makes the pick reproducible.
 *
 * The window must contain a kept code for every element; with `drop` it always does.
 */
export interface CodeMask {
  drop?: tf.Tensor | number;
  weights?: CodeWeights | tf.Tensor;
  pick?: 'nearest' | 'sample';
  seed?: number;
}

/** A {@link CodeMask}, or its `weights` alone (a function or a 1-D per-code tensor). */
export type QuantizerMask = CodeMask | CodeWeights | tf.Tensor;

/** A mask reduced to what the quantizer needs: the sub-grid stride 2^d and a weight function. */
export interface ResolvedMask {
  stride: tf.Tensor | number;
  weights: CodeWeights | null;
  pick: 'nearest' | 'sample';
  seed: number;
}

/** Resolves and validates a {@link QuantizerMask} for a grid. Tensors it creates belong to the caller's scope. */
export function resolveMask(mask: QuantizerMask | undefined, grid: Grid, debug = false): ResolvedMask {
  if (mask === undefined || mask === null) return { stride: 1, weights: null, pick: 'nearest', seed: 0 };
  const spec: CodeMask = typeof mask === 'function' || mask instanceof tf.Tensor ? { weights: mask } : mask;
  if (typeof spec !== 'object') {
    throw new QuantizerConfigError('mask', mask, 'a CodeMask { drop?, weights? }, a function of codes, or a 1-D tensor of per-code weights');
  }
  let stride: tf.Tensor | number = 1;
  const { drop } = spec;
  if (typeof drop === 'number') {
    if (!Number.isInteger(drop) || drop < 0 || drop > grid.droppableBits) {
      throw new QuantizerConfigError('mask.drop', drop, `an integer from 0 to ${grid.droppableBits} for this ${grid.bits}-bit grid`);
    }
    stride = 2 ** drop;
  } else if (drop instanceof tf.Tensor) {
    if (debug) {
      const [lo, hi] = tf.tidy(() => [tf.min(drop).dataSync()[0]!, tf.max(drop).dataSync()[0]!]);
      if (lo! < 0 || hi! > grid.droppableBits) {
        throw new QuantizerInputError(`mask.drop holds values in [${lo}, ${hi}]; allowed: 0 to ${grid.droppableBits} for this ${grid.bits}-bit grid.`, { field: 'mask.drop' });
      }
    }
    stride = tf.pow(tf.scalar(2), tf.cast(drop, 'float32'));
  } else if (drop !== undefined) {
    throw new QuantizerConfigError('mask.drop', drop, 'an integer or a tensor of integers');
  }
  const pick = spec.pick ?? 'nearest';
  if (pick !== 'nearest' && pick !== 'sample') throw new QuantizerConfigError('mask.pick', pick, "'nearest' or 'sample'");
  if (pick === 'sample' && spec.weights !== undefined) throw new QuantizerConfigError('mask.pick', pick, "'nearest' when mask.weights is given");
  const seed = spec.seed ?? 0;
  if (!Number.isInteger(seed)) throw new QuantizerConfigError('mask.seed', seed, 'an integer');
  const { weights } = spec;
  if (weights === undefined) return { stride, weights: null, pick, seed };
  if (typeof weights === 'function') return { stride, weights, pick, seed };
  if (weights instanceof tf.Tensor) {
    if (weights.rank !== 1 || weights.shape[0] !== grid.size) {
      throw new QuantizerConfigError('mask.weights', `tensor of shape [${weights.shape.join(', ')}]`, `a 1-D tensor with one weight per code (${grid.size} for this grid) or a function of the window codes`);
    }
    const table = weights;
    return {
      stride,
      pick,
      seed,
      weights: (codes) => tf.gather(table, grid.indexOf(codes)),
    };
  }
  throw new QuantizerConfigError('mask.weights', weights, 'a function of the window codes or a 1-D tensor of per-code weights');
}

/** Evaluates the mask weights at the window codes, broadcast to the window's shape (float32). */
export function weightsAt(weights: CodeWeights, codes: tf.Tensor): tf.Tensor {
  const w = weights(codes);
  if (!(w instanceof tf.Tensor)) {
    throw new QuantizerInputError('mask.weights(codes) must return a tensor of weights broadcastable to the codes.', { field: 'mask.weights' });
  }
  const f = w.dtype === 'float32' ? w : tf.cast(w, 'float32');
  return f.shape.length === codes.shape.length && f.shape.every((d, i) => d === codes.shape[i]) ? f : tf.broadcastTo(f, codes.shape);
}

/**
 * The kept grid point nearest to `r = x/α` within the window: the mode of the masked categorical,
 * computed from distances rather than from π, which underflows to 0 far from x (ALGORITHM.md §3).
 */
export function nearestKept(window: GridWindow, r: tf.Tensor, weights: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    let distance = tf.abs(tf.sub(window.codes, tf.expandDims(r, -1)));
    const removed = [weights ? tf.lessEqual(weights, 0) : null, window.valid ? tf.logicalNot(window.valid) : null].filter(
      (t): t is tf.Tensor => t !== null,
    );
    for (const m of removed) distance = tf.where(m, tf.fill(distance.shape, Infinity), distance);
    const size = window.codes.shape[window.codes.rank - 1]!;
    const pick = tf.oneHot(tf.argMin(distance, -1), size, 1, 0, 'float32');
    return tf.sum(tf.mul(pick, window.codes), -1);
  });
}

/**
 * Output code of the nearest kept grid point for `r = x/α`: `clip(round(r))` on the (sub-)grid,
 * or the nearest code with a non-zero mask weight. Shared by inference and the `ste` and `srq`
 * forward passes, so all three round identically.
 */
export function hardCode(grid: Grid, r: tf.Tensor, mask: ResolvedMask, window: number): tf.Tensor {
  return tf.tidy(() => {
    if (!mask.weights) return grid.nearest(r, mask.stride);
    const win = gridWindow(grid, r, windowSize(grid, window), mask.stride);
    return nearestKept(win, r, weightsAt(mask.weights, win.codes));
  });
}
