import * as tf from '@tensorflow/tfjs-core';
import { categoricalDerivatives, cellLogits, gridWindow, maskLogits, windowSize } from './categorical';
import { broadcastParam, channelLayout, reduceToParam, type ChannelLayout } from './channels';
import { resolveQuantizerConfig, type QuantizerConfig, type ResolvedQuantizerConfig } from './config';
import { QuantizerInputError } from './errors';
import { Grid } from './grid';
import { dropCounts, hardCode, resolveMask, weightsAt, type QuantizerMask, type ResolvedMask } from './mask';
import { SRQ_FUSED_KERNEL, type SrqFusedAttrs } from './fused-srq';
import { selectRq } from './rq';
import { selectSrq } from './srq';
import { steQuantize } from './ste';

/**
 * The learnable parameters of a quantizer, as tensors (usually `tf.Variable`s): shape `[]` per
 * tensor, `[C]` per channel.
 */
export interface QuantizerParams {
  /** log α, the log of the grid step. */
  logAlpha: tf.Tensor;
  /** ρ = log(σ/α), the log of the noise scale relative to the step (relaxed methods only). */
  logSigma?: tf.Tensor;
}

/** Options of one quantizer call. */
export interface QuantizeOptions {
  /** Training pass (method's forward and gradients) or inference (deterministic rounding). */
  training: boolean;
  /** Codes to remove or reweight (the DropBits / BitGates hook), see {@link QuantizerMask}. */
  mask?: QuantizerMask;
  /** Seed of the Gumbel noise of `rq` / `rq-st` for this call. Default: `config.seed`. */
  seed?: number;
  /**
   * Receives, in training calls with a `drop` mask, how many elements had each number of dropped
   * bits (float32 `[bits]`, valid inside the call: copy or accumulate it there).
   */
  onDropCounts?: (counts: tf.Tensor) => void;
}

/**
 * Quantizes `x` with explicit parameters: the functional core of {@link Quantizer}
 * (specification §1–3). Differentiable with respect to `x`, `params.logAlpha`, `params.logSigma` and
 * the mask weights through `tf.grad` / `tf.variableGrads`; the gradients are analytic
 * (`tf.customGrad`), so they do not depend on which op gradients the application registered.
 *
 * - inference (`training: false`), every method: `x̂ = α·clip(round(x/α), k_min, k_max)`;
 * - `ste`: the same forward, straight-through gradients (LSQ-style step gradient);
 * - `srq`: the same forward, gradients of the multi-class straight-through estimator;
 * - `rq`: a Gumbel-softmax sample of the categorical over the local window;
 * - `rq-st`: the hard sample forward, the concrete sample's gradients.
 *
 * @param x - float tensor to quantize
 * @param params - `logAlpha` (and `logSigma` for rq / rq-st / srq)
 * @param config - quantizer configuration (resolved or not)
 * @param options - `training`, optional `mask` and `seed`
 * @returns a tensor of x's shape
 * @throws {@link QuantizerConfigError} for a bad config or mask; {@link QuantizerInputError} for a
 *   bad input (NaN with `debug`, a missing parameter, a shape that does not fit)
 * @example
 * ```ts
 * const y = quantize(x, { logAlpha: tf.scalar(Math.log(0.1)), logSigma: tf.scalar(Math.log(1 / 3)) },
 *   { bits: 2, method: 'srq' }, { training: true });
 * ```
 */
export function quantize(
  x: tf.Tensor,
  params: QuantizerParams,
  config: QuantizerConfig | ResolvedQuantizerConfig,
  options: QuantizeOptions,
): tf.Tensor {
  const cfg = resolveQuantizerConfig(config);
  const grid = new Grid(cfg);
  if (!(x instanceof tf.Tensor) || x.dtype !== 'float32') {
    throw new QuantizerInputError(`quantize expects a float32 tensor; got ${x instanceof tf.Tensor ? x.dtype : typeof x}.`, { field: 'x' });
  }
  if (cfg.debug) assertFinite(x, 'x');
  const layout = channelLayout(x.shape, cfg.perChannel ? cfg.channelAxis : null);
  checkParam(params.logAlpha, 'logAlpha', layout);
  const needsSigma = options.training && cfg.method !== 'ste';
  if (needsSigma) checkParam(params.logSigma, 'logSigma', layout);

  return tf.tidy(() => {
    const fused = options.training && cfg.method !== 'ste' && fusedKernelAvailable() && !hasWeights(options.mask);
    const mask = resolveMask(options.mask, grid, x.shape, { debug: cfg.debug, keepSample: fused });
    if (!options.training) {
      const alpha = broadcastParam(tf.exp(params.logAlpha), layout);
      return tf.mul(alpha, hardCode(grid, tf.div(x, alpha), mask, cfg.window));
    }
    const seed = options.seed ?? cfg.seed;
    if (fused) return fusedQuantize(x, params.logAlpha, params.logSigma!, grid, cfg, layout, mask, seed, options.onDropCounts);
    if (options.onDropCounts && (mask.sample || mask.drop !== 0)) options.onDropCounts(dropCounts(mask.drop, x.shape, grid.bits));
    if (cfg.method === 'ste') return steQuantize(x, params.logAlpha, grid, layout, mask, cfg.window);
    return relaxedQuantize(x, params.logAlpha, params.logSigma!, grid, cfg, layout, mask, seed);
  });
}

function hasWeights(mask: QuantizerMask | undefined): boolean {
  return typeof mask === 'function' || mask instanceof tf.Tensor || (typeof mask === 'object' && mask !== null && mask.weights !== undefined);
}

/** Whether the active backend registered the fused kernel of the relaxed quantizers (`@srq/backends` does for wasm and cpu). */
export function fusedKernelAvailable(): boolean {
  return tf.getKernel(SRQ_FUSED_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * `srq`, `rq` and `rq-st` through the fused kernel: one pass computes x̂ and the per-element
 * derivatives (∂x̂/∂x, ∂x̂/∂ρ), so the backward pass is three products and two reductions.
 */
function fusedQuantize(
  x: tf.Tensor,
  logAlpha: tf.Tensor,
  logSigma: tf.Tensor,
  grid: Grid,
  cfg: ResolvedQuantizerConfig,
  layout: ChannelLayout,
  mask: ResolvedMask,
  noiseSeed: number,
  onDropCounts: ((counts: tf.Tensor) => void) | undefined,
): tf.Tensor {
  const inner = layout.axis === null ? x.size : x.shape.slice(layout.axis + 1).reduce((a, b) => a * b, 1);
  // one drop for the whole tensor (BitGates' sampled gates): an attribute, not a per-element array
  const oneDrop = mask.drop instanceof tf.Tensor && mask.drop.size === 1 ? mask.drop.dataSync()[0]! : null;
  const attrs: SrqFusedAttrs = {
    minCode: grid.minCode,
    maxCode: grid.maxCode,
    step: grid.step,
    bits: grid.bits,
    window: windowSize(grid, cfg.window),
    inner,
    drop: typeof mask.drop === 'number' ? mask.drop : (oneDrop ?? 0),
    dropP: mask.sample?.p ?? 0,
    seed: mask.sample ? (mask.sample.seed ^ mask.seed) >>> 0 : mask.seed,
    pick: mask.pick,
    method: cfg.method as 'srq' | 'rq' | 'rq-st',
    temperature: cfg.temperature,
    noiseSeed,
  };
  const drops = mask.drop instanceof tf.Tensor && oneDrop === null ? tf.cast(tf.broadcastTo(mask.drop, x.shape), 'int32') : null;
  const f = tf.customGrad((...args) => {
    const [xIn, la, rho] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const alpha = tf.reshape(tf.exp(la!), [-1]);
    const ratio = tf.reshape(tf.exp(rho!), [-1]);
    const inputs: tf.NamedTensorMap = drops ? { x: xIn!, alpha, ratio, drops } : { x: xIn!, alpha, ratio };
    const [value, dx, drho, counts] = tf.engine().runKernel(SRQ_FUSED_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    if (onDropCounts && (mask.sample || mask.drop !== 0)) onDropCounts(counts!);
    save([xIn!, value!, dx!, drho!]);
    return {
      value: value!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, v, dxs, drhos] = saved as tf.Tensor[];
        return [
          tf.mul(dy, dxs!),
          reduceToParam(tf.mul(dy, tf.sub(v!, tf.mul(xs!, dxs!))), layout),
          reduceToParam(tf.mul(dy, drhos!), layout),
        ];
      },
    };
  });
  return f(x, logAlpha, logSigma);
}

/** `srq`, `rq` and `rq-st`: forward by the method's selection, backward by {@link categoricalDerivatives}. */
function relaxedQuantize(
  x: tf.Tensor,
  logAlpha: tf.Tensor,
  logSigma: tf.Tensor,
  grid: Grid,
  cfg: ResolvedQuantizerConfig,
  layout: ChannelLayout,
  mask: ResolvedMask,
  seed: number,
): tf.Tensor {
  const size = windowSize(grid, cfg.window);
  const window = (xIn: tf.Tensor, la: tf.Tensor) => {
    const alpha = broadcastParam(tf.exp(la), layout);
    const r = tf.div(xIn, alpha);
    return { alpha, r, win: gridWindow(grid, r, size, mask.stride) };
  };
  // Mask weights depend on the window codes, which carry no gradient: compute the codes off the
  // gradient tape, so that gradients reach whatever produced the weights (BitGates) only.
  const weights = mask.weights ? weightsAt(mask.weights, stopGradient(() => window(x, logAlpha).win.codes)) : null;

  const f = tf.customGrad((...args) => {
    const [xIn, la, rho] = args as tf.Tensor[];
    const m = weights ? (args[3] as tf.Tensor) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const out = tf.tidy(() => {
      const { alpha, r, win } = window(xIn!, la!);
      const ratio = broadcastParam(tf.exp(rho!), layout);
      const { A, B, logits } = cellLogits(win, r, tf.broadcastTo(ratio, r.shape));
      const masked = maskLogits(logits, m, win.valid);
      const sel =
        cfg.method === 'srq'
          ? selectSrq(masked, win, r, grid, mask, m)
          : selectRq(masked, win, cfg.temperature, seed, cfg.method === 'rq-st');
      return { value: tf.mul(alpha, sel.code), weights: sel.weights, codes: win.codes, A, B, kappa: sel.kappa };
    });
    const kappa = out.kappa;
    save([xIn!, la!, rho!, out.value, out.weights, out.codes, out.A, out.B, ...(m ? [m] : [])]);
    return {
      value: out.value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, las, rhos, value, w, codes, A, B, ms] = saved as tf.Tensor[];
        const d = categoricalDerivatives({
          weights: w!,
          codes: codes!,
          A: A!,
          B: B!,
          x: xs!,
          value: value!,
          alpha: broadcastParam(tf.exp(las!), layout),
          sigmaRatio: broadcastParam(tf.exp(rhos!), layout),
          kappa,
          mask: ms ?? null,
        });
        const grads = [
          tf.mul(dy, d.dx),
          reduceToParam(tf.mul(dy, d.dLogAlpha), layout),
          reduceToParam(tf.mul(dy, d.dRho), layout),
        ];
        if (d.dMask) grads.push(tf.mul(tf.expandDims(dy, -1), d.dMask));
        return grads;
      },
    };
  });
  return weights ? f(x, logAlpha, logSigma, weights) : f(x, logAlpha, logSigma);
}

/**
 * Runs `fn` off the gradient tape: its result is a constant to every gradient computation (tfjs
 * has no stop-gradient op; a custom gradient with no inputs is one).
 *
 * @example
 * ```ts
 * const frozen = stopGradient(() => tf.round(x)); // no gradient flows back to x
 * ```
 */
export function stopGradient(fn: () => tf.Tensor): tf.Tensor {
  return tf.customGrad(() => ({ value: tf.tidy(fn), gradFunc: () => [] }))();
}

function checkParam(param: tf.Tensor | undefined, name: string, layout: ChannelLayout): void {
  if (!(param instanceof tf.Tensor)) {
    throw new QuantizerInputError(`Quantizer parameter ${name} is missing; build or init the quantizer first.`, { field: name });
  }
  const ok = layout.axis === null ? param.size === 1 : param.rank === 1 && param.shape[0] === layout.channels;
  if (!ok) {
    throw new QuantizerInputError(
      `Quantizer parameter ${name} has shape [${param.shape.join(', ')}]; expected ${layout.axis === null ? '[] (per tensor)' : `[${layout.channels}] (one per channel)`}.`,
      { field: name, shape: param.shape },
    );
  }
}

/** Throws a {@link QuantizerInputError} when `t` holds NaN or ±Infinity (reads the tensor). */
export function assertFinite(t: tf.Tensor, field: string): void {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t))).dataSync()[0]);
  if (bad) throw new QuantizerInputError(`Quantizer input ${field} contains NaN or Infinity.`, { field });
}
