import * as tf from '@tensorflow/tfjs-core';
import type { GridWindow } from './categorical';
import type { Grid } from './grid';
import { nearestKept } from './mask';

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
 * Semi-Relaxed Quantization (ALGORITHM.md §3): the forward pass takes the mode of the categorical,
 * i.e. the nearest (kept) grid point — exactly the inference rule — and the backward pass is the
 * multi-class straight-through estimator `y_st = y + π - stopGradient(π)`, whose soft path is
 * `Σ π_i g_i`. The mode comes from distances, not from π (which underflows far from x).
 */
export function selectSrq(
  logits: tf.Tensor,
  window: GridWindow,
  r: tf.Tensor,
  grid: Grid,
  stride: tf.Tensor | number,
  weights: tf.Tensor | null,
): Selection {
  const code = weights ? nearestKept(window, r, weights) : grid.nearest(r, stride);
  return { code, weights: tf.softmax(logits), kappa: 1 };
}
