import * as tf from '@tensorflow/tfjs-core';
import { Grid, type GridSpec } from './grid';

/**
 * The local window of grid points around each element (RQ §2.2, specification §2): the `size`
 * grid points nearest to x, shifted inwards at the grid ends so that every element has the same
 * number of points. Memory and compute are O(N·size), never O(N·2^b).
 */
export interface GridWindow {
  /** Float codes of the window points, shape `[...x.shape, size]`, ascending along the last axis. */
  codes: tf.Tensor;
  /** Distance between neighbouring window codes (the cell width in code units), broadcastable to `codes`. */
  spacing: tf.Tensor | number;
  /** False where the window runs past the end of a sub-grid smaller than the window; undefined when all points are valid. */
  valid: tf.Tensor | undefined;
}

/** Number of window points actually used for a grid: `min(window, grid.size)`. */
export function windowSize(grid: Grid, window: number): number {
  return Math.min(window, grid.size);
}

/**
 * Builds the local window for `r = x/α`. With `stride = 2^d` (number or tensor broadcastable to r)
 * the window lies on the sub-grid of the codes with ℓ(k) ≥ d, so that the kept grid points nearest
 * to x are in it whatever d is (specification §4).
 */
export function gridWindow(grid: Grid, r: tf.Tensor, size: number, stride: tf.Tensor | number = 1): GridWindow {
  return tf.tidy(() => {
    const offsets = tf.range(0, size, 1, 'float32');
    if (grid.symmetricBinary) {
      const codes = tf.broadcastTo(tf.tensor1d([-1, 1]), [...r.shape, 2]);
      return { codes, spacing: 2, valid: undefined };
    }
    const { lo, hi } = grid.subgridRange(stride);
    const s = typeof stride === 'number' ? stride : tf.expandDims(stride, -1);
    // Start index of the `size` nearest sub-grid points: round(r/s - (size-1)/2), kept inside [lo, hi-size+1].
    const startMax = typeof hi === 'number' && typeof lo === 'number' ? Math.max(hi - size + 1, lo) : tf.maximum(tf.sub(hi, size - 1), lo);
    const start = tf.minimum(tf.maximum(tf.round(tf.sub(tf.div(r, stride), (size - 1) / 2)), lo), startMax);
    const index = tf.add(tf.expandDims(start, -1), offsets);
    const codes = tf.mul(index, s);
    const valid = typeof hi === 'number' && typeof lo === 'number' && hi - lo + 1 >= size ? undefined : tf.lessEqual(index, tf.expandDims(hi, -1));
    return { codes, spacing: s, valid };
  });
}

/**
 * Standardised cell edges and log cell probabilities of the logistic noise model
 * (specification §2). For the cell `[k - s/2, k + s/2]` (code units) of window point k:
 * `A = (k - s/2 - r)/e^ρ`, `B = A + s/e^ρ` with `r = x/α`, `e^ρ = σ/α`, and
 * `log P = log(Sigmoid(B) - Sigmoid(A)) = logSigmoid(B) + logSigmoid(-A) + log(1 - e^{-(B-A)})`.
 * The last term is the same for every cell of an element and cancels when normalising, so
 * `logits = logSigmoid(B) + logSigmoid(-A)`: stable in both tails, where the direct difference of
 * sigmoids cancels to 0 in float32.
 */
export function cellLogits(
  window: GridWindow,
  r: tf.Tensor,
  sigmaRatio: tf.Tensor,
): { A: tf.Tensor; B: tf.Tensor; logits: tf.Tensor } {
  return tf.tidy(() => {
    const ratio = tf.expandDims(sigmaRatio, -1);
    const A = tf.div(tf.sub(tf.sub(window.codes, tf.div(window.spacing, 2)), tf.expandDims(r, -1)), ratio);
    const B = tf.add(A, tf.div(window.spacing, ratio));
    const logits = tf.add(tf.logSigmoid(B), tf.logSigmoid(tf.neg(A)));
    return { A, B, logits };
  });
}

/** Log-weight given to masked-out codes (probability e^-1e4 = 0 in float32, yet never NaN). */
const MASKED_LOGIT = -1e4;

/**
 * Adds the log of the mask weights (and removes points beyond the sub-grid end) to the cell
 * logits: the truncated, renormalised categorical of specification §2 restricted to kept codes.
 */
export function maskLogits(logits: tf.Tensor, weights: tf.Tensor | null, valid: tf.Tensor | undefined): tf.Tensor {
  return tf.tidy(() => {
    let out = logits;
    if (weights) out = tf.add(out, tf.maximum(tf.log(weights), MASKED_LOGIT));
    if (valid) out = tf.where(valid, out, tf.fill(out.shape, 2 * MASKED_LOGIT));
    return out;
  });
}

/** Options of {@link gridProbabilities}. */
export interface GridProbabilitiesOptions {
  /** Grid points in the local window (default: the whole grid). */
  window?: number;
}

/**
 * The categorical distribution over the grid that the relaxed quantizers use (specification §2):
 * `π_i ∝ Sigmoid((g_i + α/2 - x)/σ) - Sigmoid((g_i - α/2 - x)/σ)`, truncated to the grid (RQ eq. 4)
 * and to the local window, renormalised.
 *
 * @param x - any tensor
 * @param alpha - grid step α (> 0), a number or a tensor broadcastable to x
 * @param sigma - logistic noise scale σ (> 0), a number or a tensor broadcastable to x
 * @param grid - the grid (or its spec)
 * @param options - `window`: grid points per element (default: whole grid)
 * @returns `codes` and `probs`, both `[...x.shape, W]`; `probs` sums to 1 along the last axis
 * @example
 * ```ts
 * const { codes, probs } = gridProbabilities(tf.tensor1d([0.3]), 1, 1 / 3, { bits: 2 });
 * ```
 */
export function gridProbabilities(
  x: tf.Tensor,
  alpha: tf.Tensor | number,
  sigma: tf.Tensor | number,
  grid: Grid | GridSpec,
  options: GridProbabilitiesOptions = {},
): { codes: tf.Tensor; probs: tf.Tensor } {
  const g = grid instanceof Grid ? grid : new Grid(grid);
  return tf.tidy(() => {
    const r = tf.div(x, alpha);
    const ratio = tf.broadcastTo(tf.div(sigma, alpha), r.shape);
    const win = gridWindow(g, r, windowSize(g, options.window ?? g.size));
    const { logits } = cellLogits(win, r, ratio);
    return { codes: win.codes, probs: tf.softmax(maskLogits(logits, null, win.valid)) };
  });
}

/**
 * Backward pass shared by `srq`, `rq` and `rq-st` (specification §3). The soft path of every
 * method is `x̂ = α·Σ_i w_i k_i` with `w = softmax(ℓ/κ')` built from the cell logits ℓ, so for
 * any parameter θ: `∂x̂/∂θ = κ·α·Σ_i w_i (k_i - k̄) ∂ℓ_i/∂θ` (`k̄ = Σ w_i k_i`; κ = 1 for the
 * straight-through mode of `srq`, 1/λ for the Gumbel-softmax of `rq`), with
 * `∂ℓ/∂x = -(Sigmoid(-B) - Sigmoid(A))/σ`, `∂ℓ/∂ρ = -(Sigmoid(-B)·B - Sigmoid(A)·A)`,
 * `∂ℓ_i/∂m_i = 1/m_i`. x̂ is homogeneous of degree 1 in (x, α), so `∂x̂/∂log α = x̂ - x·∂x̂/∂x`.
 *
 * Returns per-element derivatives: `dx` (∂x̂/∂x), `dLogAlpha`, `dRho` and `dMask` (∂x̂/∂m, `[..., W]`).
 */
export function categoricalDerivatives(args: {
  weights: tf.Tensor;
  codes: tf.Tensor;
  A: tf.Tensor;
  B: tf.Tensor;
  x: tf.Tensor;
  value: tf.Tensor;
  alpha: tf.Tensor;
  sigmaRatio: tf.Tensor;
  kappa: number;
  mask: tf.Tensor | null;
}): { dx: tf.Tensor; dLogAlpha: tf.Tensor; dRho: tf.Tensor; dMask: tf.Tensor | undefined } {
  const { weights, codes, A, B, x, value, alpha, sigmaRatio, kappa, mask } = args;
  return tf.tidy(() => {
    const mean = tf.sum(tf.mul(weights, codes), -1, true);
    const wDelta = tf.mul(weights, tf.sub(codes, mean));
    const sNegB = tf.sigmoid(tf.neg(B));
    const sA = tf.sigmoid(A);
    const E = tf.sub(sNegB, sA);
    const F = tf.sub(tf.mul(sNegB, B), tf.mul(sA, A));
    const dx = tf.mul(tf.sum(tf.mul(wDelta, E), -1), tf.div(-kappa, sigmaRatio));
    const dLogAlpha = tf.sub(value, tf.mul(x, dx));
    const dRho = tf.mul(tf.sum(tf.mul(wDelta, F), -1), tf.mul(-kappa, alpha));
    const dMask = mask
      ? tf.div(tf.mul(wDelta, tf.mul(tf.expandDims(alpha, -1), kappa)), tf.maximum(mask, 1e-30))
      : undefined;
    return { dx, dLogAlpha, dRho, dMask };
  });
}
