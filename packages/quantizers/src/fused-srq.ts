import type { MaskPick } from './mask';
import { mulberry32 } from './random';

/**
 * The training pass of the relaxed quantizers of one tensor in a single loop over typed arrays —
 * forward value and the per-element derivatives of its backward pass — for backends that register
 * it as a kernel (`@srq/backends` does, for wasm and cpu). Same mathematics as the composition of
 * tfjs ops in `quantize.ts` (specification §2–4): for `srq` the nearest kept code forward and the
 * multi-class straight-through backward over the local window of the (sub-)grid; for `rq` /
 * `rq-st` the Gumbel-softmax sample over the same window. No backend imports: pure arithmetic.
 */

/** Name of the kernel that computes {@link srqFused}; `quantize()` uses it when the active backend has it. */
export const SRQ_FUSED_KERNEL = 'SrqFusedQuantize';

/** Static parameters of {@link srqFused}. */
export interface SrqFusedAttrs {
  /** Grid: codes `minCode + step·j`, j = 0..size-1. */
  minCode: number;
  maxCode: number;
  step: number;
  bits: number;
  /** Window size W (grid points per element). */
  window: number;
  /** Elements per channel block (`channel = floor(i / inner) % channels`); 1 block = per tensor. */
  inner: number;
  /** Dropped low bits for every element (when no per-element drops and no sampling). */
  drop: number;
  /** Sample d per element with `P(d ≥ j) = dropP^j` (0: no sampling). */
  dropP: number;
  /** Seed of the drop sampling and of the `'sample'` pick. */
  seed: number;
  /** `'nearest'` kept code, `'sample'` between the two kept codes around x in proportion to π, or `'full'`: the nearest code of the whole grid (only the backward sees the drop). */
  pick: MaskPick;
  /** `'srq'` (default), or the Gumbel-softmax sample of `'rq'` (soft) / `'rq-st'` (hard forward). */
  method?: 'srq' | 'rq' | 'rq-st';
  /** Gumbel-softmax temperature λ of rq / rq-st. */
  temperature?: number;
  /** Seed of the Gumbel noise of rq / rq-st: the stream of {@link exponentialStream}. */
  noiseSeed?: number;
}

/** Outputs of {@link srqFused}. */
export interface SrqFusedOutputs {
  /** x̂ per element. */
  value: Float32Array;
  /** ∂x̂/∂x per element. */
  dx: Float32Array;
  /** ∂x̂/∂ρ per element (ρ = log σ/α). ∂x̂/∂log α = x̂ - x·∂x̂/∂x. */
  drho: Float32Array;
  /** Count of each number of dropped bits d = 0..bits-1 over the elements. */
  dropCounts: Float32Array;
}


const f32 = Math.fround;

/** How many σ/α beyond the window's edges x is taken into account (see `srqFused`). */
export const FAR = 30;

/** Round half to even, as tfjs `round`. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `u > 1 - p^j` for j = 1..maxDrop: with u uniform in [0, 1), the number of these that hold is d
 * with `P(d ≥ j) = p^j` (capped at maxDrop). p^j by repeated multiplication, so that every
 * implementation of the kernel computes the same thresholds.
 */
export function dropThresholds(p: number, maxDrop: number): Float64Array {
  const out = new Float64Array(p > 0 ? maxDrop : 0);
  let pj = 1;
  for (let j = 0; j < out.length; j++) {
    pj *= p;
    out[j] = 1 - pj;
  }
  return out;
}

/** Uniform numbers are kept inside [TINY, 1 - TINY] so that the Gumbel transform stays finite. */
const TINY = 1e-7;

/**
 * The noise of rq / rq-st as `E = -log u` (Exponential(1), u from mulberry32 kept inside
 * [TINY, 1 - TINY]); the standard Gumbel noise is `g = -log E`. Drawn `window` values per element
 * in element order: the fused kernel and the tfjs-op path (`gumbelNoise` in rq.ts) draw the same
 * stream from the same seed.
 */
export function exponentialStream(seed: number): () => number {
  const rand = mulberry32((seed ^ 0x5bd1e995) >>> 0);
  return () => -Math.log(Math.min(Math.max(rand(), TINY), 1 - TINY));
}

function sampleDrop(u: number, thresholds: Float64Array): number {
  let d = 0;
  while (d < thresholds.length && u > thresholds[d]!) d++;
  return d;
}

/**
 * Runs the fused `srq` pass.
 *
 * @param x - the tensor, flat
 * @param alpha - α per channel block (length 1 or C), float32 values as the backend holds them
 * @param ratio - σ/α per channel block
 * @param drops - dropped bits per element (or null: `attrs.drop`, or sampled with `attrs.dropP`)
 */
export function srqFused(x: Float32Array, alpha: Float32Array, ratio: Float32Array, drops: Int32Array | null, attrs: SrqFusedAttrs): SrqFusedOutputs {
  const n = x.length;
  const value = new Float32Array(n);
  const dx = new Float32Array(n);
  const drho = new Float32Array(n);
  const dropCounts = new Float32Array(attrs.bits);
  const { minCode, maxCode, step, window, inner, dropP, pick } = attrs;
  const method = attrs.method ?? 'srq';
  const relaxed = method !== 'srq';
  const kappa = relaxed ? 1 / attrs.temperature! : 1;
  const exponential = relaxed ? exponentialStream(attrs.noiseSeed ?? 0) : null;
  const noise = new Float64Array(window);
  const channels = alpha.length;
  const maxDrop = step === 1 ? attrs.bits - 1 : 0;
  const rand = mulberry32(attrs.seed);
  const thresholds = dropThresholds(dropP, maxDrop);
  const codes = new Float64Array(window);
  const pi = new Float64Array(window);
  // per cell edge j (the window's W cells have W + 1 edges): t_j, Sigmoid(t_j), Sigmoid(-t_j)
  const t = new Float64Array(window + 1);
  const loOf = Array.from({ length: maxDrop + 1 }, (_, d) => (step === 1 ? Math.ceil(minCode / 2 ** d) : 0));
  const hiOf = Array.from({ length: maxDrop + 1 }, (_, d) => (step === 1 ? Math.floor(maxCode / 2 ** d) : 1));
  // exp(-Δ) for Δ = spacing/e, per channel and dropped bits
  const qOf = new Float64Array(channels * (maxDrop + 1));
  for (let ch = 0; ch < channels; ch++) for (let d = 0; d <= maxDrop; d++) qOf[ch * (maxDrop + 1) + d] = Math.exp(-(step * 2 ** d) / ratio[ch]!);
  const sp = new Float64Array(window + 1);
  const sn = new Float64Array(window + 1);
  for (let i = 0; i < n; i++) {
    const c = channels === 1 ? 0 : ((i / inner) | 0) % channels;
    const a = alpha[c]!;
    const e = ratio[c]!;
    let d = drops ? drops[i]! : attrs.drop;
    if (dropP > 0) d = sampleDrop(rand(), thresholds);
    if (exponential) for (let w = 0; w < window; w++) noise[w] = exponential();
    dropCounts[d]! += 1;
    const s = 1 << d;
    const r = f32(x[i]! / a);
    // the sub-grid of stride s has the codes s·J, J in [lo, hi]; the symmetric binary grid {-1, +1}
    const binary = step !== 1;
    const lo = loOf[d]!;
    const hi = hiOf[d]!;
    const rJ = binary ? (r - minCode) / step : r / s;
    let kStar = binary ? Math.min(1, Math.max(-1, 2 * Math.floor(r / 2) + 1)) : s * Math.min(hi, Math.max(lo, roundHalfEven(rJ)));
    if (pick === 'full' && !binary) kStar = Math.min(maxCode, Math.max(minCode, roundHalfEven(r))); // gradient-only DropBits
    // the window: the W sub-grid points nearest to x, shifted inwards at the ends
    const size = Math.min(window, hi - lo + 1);
    const start = Math.min(Math.max(roundHalfEven(rJ - (size - 1) / 2), lo), hi - size + 1);
    const spacing = step * s;
    const first = binary ? minCode + step * start : s * start;
    // t_j = t_0 + j·Δ, so exp(-t_j) = exp(-t_0)·exp(-Δ)^j: one exp per element (two with a new Δ)
    const invE = 1 / e;
    const delta = spacing * invE;
    // far outside the window the cell probabilities tend to a limit: x is moved to at most FAR
    // σ/α beyond the window's outer edges (a change below e^-30 relative), so nothing overflows
    const rc = Math.min(Math.max(r, first - spacing / 2 - FAR * e), first + spacing * (size - 0.5) + FAR * e);
    const t0 = (first - spacing / 2 - rc) * invE;
    const q = qOf[c * (maxDrop + 1) + d]!;
    let E = Math.exp(-t0);
    for (let j = 0; j <= size; j++) {
      t[j] = t0 + j * delta;
      if (E === Infinity) {
        sp[j] = 0;
        sn[j] = 1;
      } else {
        const inv = 1 / (1 + E);
        sp[j] = inv;
        sn[j] = E * inv;
      }
      E *= q;
    }
    // π_w ∝ Sigmoid(B_w)·Sigmoid(-A_w) with A_w = t_w, B_w = t_(w+1) (the common factor 1 - e^(A-B) cancels)
    let z = 0;
    for (let w = 0; w < size; w++) {
      codes[w] = first + spacing * w;
      pi[w] = sp[w + 1]! * sn[w]!;
      z += pi[w]!;
    }
    if (!(z > 1e-300)) {
      // x so far outside the grid that every cell probability underflows: the limit is a point mass
      value[i] = f32(a * kStar);
      dx[i] = 0;
      drho[i] = 0;
      continue;
    }
    let mean = 0;
    for (let w = 0; w < size; w++) {
      pi[w] = pi[w]! / z;
      mean += pi[w]! * codes[w]!;
    }
    let out = a * kStar;
    if (exponential) {
      // rq / rq-st: the concrete sample z = softmax((log π + g)/λ) with g = -log E replaces π on the
      // soft path; z ∝ (π/E)^(1/λ), which at λ = 1 needs no logarithm or exponential
      let sum = 0;
      if (kappa === 1) {
        for (let w = 0; w < size; w++) {
          pi[w] = pi[w]! / noise[w]!;
          sum += pi[w]!;
        }
      } else {
        let top = -Infinity;
        for (let w = 0; w < size; w++) {
          pi[w] = (Math.log(pi[w]!) - Math.log(noise[w]!)) * kappa;
          top = Math.max(top, pi[w]!);
        }
        for (let w = 0; w < size; w++) {
          pi[w] = Math.exp(pi[w]! - top);
          sum += pi[w]!;
        }
      }
      mean = 0;
      let best = 0;
      for (let w = 0; w < size; w++) {
        pi[w] = pi[w]! / sum;
        mean += pi[w]! * codes[w]!;
        if (pi[w]! > pi[best]!) best = w;
      }
      out = a * (method === 'rq' ? mean : codes[best]!);
    } else if (pick === 'sample' && s > 1) {
      const below = Math.floor(rJ);
      const lower = s * Math.min(hi, Math.max(lo, below));
      const upper = s * Math.min(hi, Math.max(lo, below + 1));
      let pl = 0;
      let pu = 0;
      for (let w = 0; w < size; w++) {
        if (codes[w] === lower) pl += pi[w]!;
        if (codes[w] === upper) pu += pi[w]!;
      }
      kStar = rand() * (pl + pu) < pu ? upper : lower;
      out = a * kStar;
    }
    let sx = 0;
    let sr = 0;
    for (let w = 0; w < size; w++) {
      const wd = pi[w]! * (codes[w]! - mean);
      // Sigmoid(-B) - Sigmoid(A) and Sigmoid(-B)·B - Sigmoid(A)·A
      sx += wd * (sn[w + 1]! - sp[w]!);
      sr += wd * (sn[w + 1]! * t[w + 1]! - sp[w]! * t[w]!);
    }
    value[i] = f32(out);
    dx[i] = -kappa * sx * invE;
    drho[i] = -kappa * a * sr;
  }
  return { value, dx, drho, dropCounts };
}
