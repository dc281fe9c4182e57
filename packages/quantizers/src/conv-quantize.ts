import { roundHalfEven } from './fused-srq';
import type { ConvGeometry } from './integer-conv';

/**
 * A packed model's layer that reads float inputs — typically the first convolution, on image
 * pixels — at inference (specification §10): a float convolution with its (already quantized)
 * float weights, whose output only a ReLU, an unsigned activation quantizer and possibly a 2×2
 * max-pool read. One kernel computes conv + bias, the max over each pool window, the ReLU and the
 * quantizer, and writes only the pooled, quantized values (α·code, float32): a quarter of the
 * convolution's output, without the float map ever being written.
 *
 * Arithmetic (the WebAssembly build in `@srq/backends` gives the same bits): per output pixel and
 * filter, s = Σ x·w in f32, one tap at a time in the kernel's (row, column, channel) order, zero
 * outside the image; then max over the pool window, + bias, and the quantizer:
 * α·min(round(min(max(y, 0), clip)/α), maxCode). The float graph computes the same sums, possibly
 * in another order: outputs equal up to float rounding (§10's exception applies: a sum within
 * rounding of a rounding boundary of the quantizer may take the neighbouring code).
 *
 * Weight layout ({@link packConvBlocks}): filters in blocks of 8; per block, per tap, 8 floats.
 */

/** Name of the kernel; inputs `x` (float32 NHWC), `weights` ({@link packConvBlocks}) and `bias` (float32, padded to the blocks). */
export const CONV_QUANTIZE_KERNEL = 'SrqConvQuantize';

/** Static parameters of {@link convQuantize}; `outH`, `outW` are the convolution's output size, before the pool. */
export interface ConvQuantizeAttrs extends ConvGeometry {
  /** 2: a 2×2 max-pool, stride 2, no padding, reads the output (its size ⌊outH/2⌋ × ⌊outW/2⌋); 1: none. */
  pool: 1 | 2;
  /** The unsigned activation quantizer: α, the ReLU's `maxValue` (Infinity for none), the largest code. */
  alpha: number;
  clip: number;
  maxCode: number;
}

/** Taps of one filter: kernelH·kernelW·channels. */
const tapsOf = (a: Pick<ConvQuantizeAttrs, 'kernelH' | 'kernelW' | 'channels'>): number => a.kernelH * a.kernelW * a.channels;

/** The weight layout of a float kernel in tfjs order `[kh, kw, C, filters]`: blocks of 8 filters (zero-padded), per tap 8 floats. */
export function packConvBlocks(kernel: ArrayLike<number>, a: Pick<ConvQuantizeAttrs, 'kernelH' | 'kernelW' | 'channels' | 'filters'>): Float32Array {
  const taps = tapsOf(a);
  const blocks = Math.ceil(a.filters / 8);
  const out = new Float32Array(blocks * taps * 8);
  for (let t = 0; t < taps; t++) for (let f = 0; f < a.filters; f++) out[((f >> 3) * taps + t) * 8 + (f & 7)] = kernel[t * a.filters + f]!;
  return out;
}

/** The bias padded to the blocks of {@link packConvBlocks} (none: zeros). */
export function padConvBias(bias: ArrayLike<number> | null, filters: number): Float32Array {
  const out = new Float32Array(Math.ceil(filters / 8) * 8);
  if (bias) out.set(Array.from(bias));
  return out;
}

/**
 * The reference of the kernel: `x` NHWC float32 `[n, h, w, C]`, `weights` as {@link packConvBlocks};
 * returns `[n, ⌊outH/pool⌋, ⌊outW/pool⌋, filters]` float32.
 */
export function convQuantize(x: Float32Array, shape: readonly number[], weights: Float32Array, bias: Float32Array, a: ConvQuantizeAttrs): Float32Array {
  const [n, h, w, channels] = shape as [number, number, number, number];
  const taps = tapsOf(a);
  const [ph, pw] = [Math.floor(a.outH / a.pool), Math.floor(a.outW / a.pool)];
  const [alpha, clip] = [Math.fround(a.alpha), Math.fround(a.clip)];
  const out = new Float32Array(n * ph * pw * a.filters);
  const sum = (img: number, oy: number, ox: number, f: number): number => {
    let s = 0;
    for (let t = 0; t < taps; t++) {
      const iy = oy * a.strideH + Math.floor(t / (a.kernelW * channels)) - a.padTop;
      const ix = ox * a.strideW + (Math.floor(t / channels) % a.kernelW) - a.padLeft;
      const v = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0 : x[((img * h + iy) * w + ix) * channels + (t % channels)]!;
      s = Math.fround(s + Math.fround(v * weights[((f >> 3) * taps + t) * 8 + (f & 7)]!));
    }
    return s;
  };
  for (let img = 0; img < n; img++)
    for (let py = 0; py < ph; py++)
      for (let px = 0; px < pw; px++)
        for (let f = 0; f < a.filters; f++) {
          let m = -Infinity;
          for (let dy = 0; dy < a.pool; dy++) for (let dx = 0; dx < a.pool; dx++) m = Math.max(m, sum(img, py * a.pool + dy, px * a.pool + dx, f));
          const y = Math.fround(m + bias[f]!);
          out[((img * ph + py) * pw + px) * a.filters + f] = Math.fround(Math.min(roundHalfEven(Math.fround(Math.min(Math.max(y, 0), clip) / alpha)), a.maxCode) * alpha);
        }
  return out;
}
