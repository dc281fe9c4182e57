import * as tf from '@tensorflow/tfjs-core';
import type { GridWindow } from './categorical';
import type { Grid } from './grid';
import { nearestKept, type ResolvedMask } from './mask';

/** What a relaxed method selects on the window: the output code and the weights of its soft path. */
export interface Selection {
  /** Output code per element (float), `x̂ = α·code`. */
  code: tf.Tensor;
  /** Weights `w` of the soft path `Σ w_i k_i`, `[...x.shape, W]`. */
  weights: tf.Tensor;
  /** Scale κ of the soft-path gradient (1 for srq, 1/λ for rq). */
  kappa: number;
}

/**
 * Semi-Relaxed Quantization (specification §3): the forward pass takes the mode of the categorical,
 * i.e. the nearest (kept) grid point — exactly the inference rule — and the backward pass is the
 * multi-class straight-through estimator `y_st = y + π - stopGradient(π)`, whose soft path is
 * `Σ π_i g_i`. The mode comes from distances, not from π (which underflows far from x). With
 * `pick: 'full'` the forward is the nearest code of the whole grid and only π (the backward) is
 * restricted to the kept codes.
 */
export function selectSrq(
  logits: tf.Tensor,
  window: GridWindow,
  r: tf.Tensor,
  grid: Grid,
  mask: ResolvedMask,
  weights: tf.Tensor | null,
): Selection {
  const pi = tf.softmax(logits);
  let code: tf.Tensor;
  if (weights) code = nearestKept(window, r, weights);
  else if (mask.pick === 'full') code = grid.nearest(r); // gradient-only DropBits: the forward ignores the mask
  else if (mask.pick === 'sample' && mask.stride !== 1) code = pickAround(pi, window, r, grid, mask);
  else code = grid.nearest(r, mask.stride);
  return { code, weights: pi, kappa: 1 };
}

/**
 * The `pick: 'sample'` variant (specification §4): one of the two kept codes around r, the upper
 * with probability `π_upper / (π_lower + π_upper)`; elements whose stride is 1 take the nearest.
 */
function pickAround(pi: tf.Tensor, window: GridWindow, r: tf.Tensor, grid: Grid, mask: ResolvedMask): tf.Tensor {
  const { stride } = mask;
  const { lo, hi } = grid.subgridRange(stride);
  const below = tf.floor(tf.div(r, stride));
  const lower = tf.mul(tf.minimum(tf.maximum(below, lo), hi), stride);
  const upper = tf.mul(tf.minimum(tf.maximum(tf.add(below, 1), lo), hi), stride);
  const massAt = (code: tf.Tensor) => tf.sum(tf.mul(pi, tf.cast(tf.equal(window.codes, tf.expandDims(code, -1)), 'float32')), -1);
  const pLower = massAt(lower);
  const pUpper = massAt(upper);
  const u = tf.randomUniform(r.shape, 0, 1, 'float32', mask.seed);
  const sampled = tf.where(tf.less(tf.mul(u, tf.add(pLower, pUpper)), pUpper), upper, lower);
  const coarse = tf.greater(tf.broadcastTo(stride, r.shape), 1);
  return tf.where(coarse, sampled, grid.nearest(r, stride));
}
