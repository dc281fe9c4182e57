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
 * What the forward pass of `srq` outputs under a {@link CodeMask} (training only):
 * - `'nearest'`: the nearest kept code, the mode of the masked categorical (specification §4);
 * - `'sample'`: one of the two kept codes around x, the upper with probability proportional to π
 *   (an unbiased stochastic rounding on the sub-grid; elements with d = 0 keep the nearest code);
 * - `'full'`: the nearest code of the whole grid, as if nothing were dropped — only the backward
 *   pass, the categorical whose mean gives the straight-through gradient, sees the dropped grid
 *   ("gradient-only DropBits": no train/test mismatch in the forward pass).
 */
export type MaskPick = 'nearest' | 'sample' | 'full';

/** Every {@link MaskPick}. */
export const MASK_PICKS: readonly MaskPick[] = ['nearest', 'sample', 'full'];

/**
 * The mask hook of {@link Quantizer.apply} (used by `@srq/dropbits`).
 *
 * - `drop`: number of dropped low bits d, a number or a tensor broadcastable to x (per element,
 *   per channel or per tensor), or `{ p, seed }` to sample d per element with `P(d ≥ j) = p^j`
 *   (DropBits; fused kernels sample it in place). Keeps exactly the codes with bit level
 *   ℓ(k) ≥ d, i.e. the (b-d)-bit grid of step 2^d·α (specification §4); the local window moves onto
 *   that sub-grid, so any d costs the same.
 * - `weights`: per-code weights, either a function of the window codes ({@link CodeWeights}) or a
 *   1-D tensor with one weight per grid code (ascending from `grid.minCode`).
 *
 * - `pick` (srq, training only): what the forward pass outputs, {@link MaskPick} (default
 *   `'nearest'`). `'sample'` and `'full'` are not combinable with `weights`. `seed` makes the
 *   `'sample'` pick reproducible.
 *
 * The window must contain a kept code for every element; with `drop` it always does.
 */
export interface CodeMask {
  drop?: tf.Tensor | number | DropSample;
  weights?: CodeWeights | tf.Tensor;
  pick?: MaskPick;
  seed?: number;
}

/** Per-element sampling of the dropped bits: `P(d ≥ j) = p^j`, j = 1..b-1, reproducible from `seed`. */
export interface DropSample {
  p: number;
  seed: number;
}

/** A {@link CodeMask}, or its `weights` alone (a function or a 1-D per-code tensor). */
export type QuantizerMask = CodeMask | CodeWeights | tf.Tensor;

/**
 * A mask reduced to what the quantizer needs: the dropped bits d and the sub-grid stride 2^d
 * (tensors broadcastable to x, or numbers), the sampling that produced d (kept for fused kernels,
 * which sample in place), and a weight function.
 */
export interface ResolvedMask {
  drop: tf.Tensor | number;
  stride: tf.Tensor | number;
  sample: DropSample | null;
  weights: CodeWeights | null;
  pick: MaskPick;
  seed: number;
}

/**
 * Samples the dropped bits per element, `d = #{j ≤ maxDrop : u < p^j}` = `clip(ceil(log u / log p) - 1, 0, maxDrop)`.
 * Returns float32 d of the given shape.
 */
export function sampleDrops(shape: number[], sample: DropSample, maxDrop: number): tf.Tensor {
  return tf.tidy(() => {
    if (sample.p === 0 || maxDrop === 0) return tf.zeros(shape);
    const u = tf.randomUniform(shape, 0, 1, 'float32', sample.seed);
    return tf.clipByValue(tf.sub(tf.ceil(tf.div(tf.log(u), Math.log(sample.p))), 1), 0, maxDrop);
  });
}

/**
 * Resolves and validates a {@link QuantizerMask} for a grid and a tensor shape. A sampled drop is
 * drawn here with tfjs ops unless `keepSample` (a fused kernel will draw it). Tensors it creates
 * belong to the caller's scope.
 */
export function resolveMask(mask: QuantizerMask | undefined, grid: Grid, shape: number[], options: { debug?: boolean; keepSample?: boolean } = {}): ResolvedMask {
  if (mask === undefined || mask === null) return { drop: 0, stride: 1, sample: null, weights: null, pick: 'nearest', seed: 0 };
  const debug = options.debug ?? false;
  const spec: CodeMask = typeof mask === 'function' || mask instanceof tf.Tensor ? { weights: mask } : mask;
  if (typeof spec !== 'object') {
    throw new QuantizerConfigError('mask', mask, 'a CodeMask { drop?, weights? }, a function of codes, or a 1-D tensor of per-code weights');
  }
  let stride: tf.Tensor | number = 1;
  let drop: tf.Tensor | number = 0;
  let sample: DropSample | null = null;
  const given = spec.drop;
  if (typeof given === 'number') {
    if (!Number.isInteger(given) || given < 0 || given > grid.droppableBits) {
      throw new QuantizerConfigError('mask.drop', given, `an integer from 0 to ${grid.droppableBits} for this ${grid.bits}-bit grid`);
    }
    drop = given;
    stride = 2 ** given;
  } else if (given instanceof tf.Tensor) {
    drop = given;
    if (debug) {
      const [lo, hi] = tf.tidy(() => [tf.min(given).dataSync()[0]!, tf.max(given).dataSync()[0]!]);
      if (lo! < 0 || hi! > grid.droppableBits) {
        throw new QuantizerInputError(`mask.drop holds values in [${lo}, ${hi}]; allowed: 0 to ${grid.droppableBits} for this ${grid.bits}-bit grid.`, { field: 'mask.drop' });
      }
    }
    stride = tf.pow(tf.scalar(2), tf.cast(given, 'float32'));
  } else if (given !== undefined) {
    const ok = typeof given === 'object' && typeof given.p === 'number' && given.p >= 0 && given.p < 1 && Number.isInteger(given.seed);
    if (!ok) throw new QuantizerConfigError('mask.drop', given, 'an integer, a tensor of integers, or { p in [0, 1), seed: integer }');
    sample = { p: given.p, seed: given.seed };
    if (!options.keepSample) {
      drop = sampleDrops(shape, sample, grid.droppableBits);
      stride = tf.pow(tf.scalar(2), drop);
    }
  }
  const pick = spec.pick ?? 'nearest';
  if (!MASK_PICKS.includes(pick)) throw new QuantizerConfigError('mask.pick', pick, MASK_PICKS.map((p) => `'${p}'`).join(', '));
  if (pick !== 'nearest' && spec.weights !== undefined) throw new QuantizerConfigError('mask.pick', pick, "'nearest' when mask.weights is given");
  const seed = spec.seed ?? 0;
  if (!Number.isInteger(seed)) throw new QuantizerConfigError('mask.seed', seed, 'an integer');
  const { weights } = spec;
  if (weights === undefined) return { drop, stride, sample, weights: null, pick, seed };
  if (typeof weights === 'function') return { drop, stride, sample, weights, pick, seed };
  if (weights instanceof tf.Tensor) {
    if (weights.rank !== 1 || weights.shape[0] !== grid.size) {
      throw new QuantizerConfigError('mask.weights', `tensor of shape [${weights.shape.join(', ')}]`, `a 1-D tensor with one weight per code (${grid.size} for this grid) or a function of the window codes`);
    }
    const table = weights;
    return {
      drop,
      stride,
      sample,
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
 * computed from distances rather than from π, which underflows to 0 far from x (specification §3).
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

/** How many elements had each number of dropped bits d = 0..bits-1 (float32 `[bits]`). */
export function dropCounts(drop: tf.Tensor | number, shape: number[], bits: number): tf.Tensor {
  return tf.tidy(() => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (typeof drop === 'number') return tf.reshape(tf.oneHot(tf.tensor1d([drop], 'int32'), bits, size, 0, 'float32'), [bits]);
    const d = tf.broadcastTo(tf.cast(drop, 'float32'), shape);
    return tf.stack(Array.from({ length: bits }, (_, j) => tf.sum(tf.cast(tf.equal(d, j), 'float32'))));
  });
}
