import { roundHalfEven } from './fused-srq';

/**
 * Integer inference of a quantized convolution or dense layer (specification §10): the weights
 * stay as their b_w-bit codes, the input is quantized once to its unsigned b_a-bit codes v, and
 * each output is the exact integer
 *
 *   Σ k·v = Σ_i 2^i Σ (bit i of u)·v + minCode·Σ v,   u = k − minCode (the stored code),
 *
 * then `scale[c] · (that integer) + bias[c]`, with `scale[c] = α_w[c]·α_a`: the float graph's
 * result up to float rounding of the sum. The WebAssembly build (in `@srq/backends`) computes
 * Σ (bit i of u)·v by table lookups, 16 filters at a time: for every 4 input channels of a pixel,
 * a table of the 16 sums of their codes selected by a 4-bit pattern, looked up by each filter's
 * 4 weight bits (i8x16.swizzle), so its cost grows with the weight bits, and doubles for
 * activations of more than 4 bits (split into two 4-bit digits).
 *
 * Weight layout ({@link packWeightPlanes}): filters in blocks of 16; per block, per weight bit
 * i, per kernel position s (row, column), per 8 input channels q, 16 bytes — byte l holds bit i
 * of the codes of filter 16·block + l for channels 8q..8q+7 (channel 8q + t in bit t). A dense
 * layer is the 1×1 convolution of one pixel with K channels.
 *
 * This file is the readable reference (pure JavaScript, what the cpu backend runs) and the
 * packing; `@srq/backends` registers the WebAssembly SIMD build of the same kernel for wasm.
 */

/** Name of the kernel; inputs `x` (float32 NHWC, or `[n, K]` for a dense layer: output `[n, filters]`), `planes` (int32), `scale` and `bias` (float32 [filters]). */
export const INT_CONV_KERNEL = 'SrqIntConv2D';


/** A convolution's window, strides, padding, output size and channels (the kernels' shared attributes). */
export interface ConvGeometry {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  /** Zero rows / columns before the input (`'same'` padding); the output size says the rest. */
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
  /** Input channels C and output channels (filters). */
  channels: number;
  filters: number;
}

/** Static parameters of the integer convolution. */
export interface IntConvAttrs extends ConvGeometry {
  weightBits: number;
  /** The weights' smallest code: stored codes are k − minCode. */
  minCode: number;
  activationBits: number;
  /**
   * α_a of the input's unsigned grid: its codes are min(round(min(max(x, 0), inputClip) / α_a),
   * 2^activationBits − 1) — the activation quantizer's own arithmetic, so that the ReLU and
   * quantizer before the layer run here, fused.
   */
  inputScale: number;
  /** The ReLU's `maxValue` before the input's quantizer (Infinity for none). */
  inputClip: number;
  /**
   * A max-pool before the quantizer, fused: windows of inputPool × inputPool pixels, stride
   * inputPool, no padding (1: none). The input is then `[n, h·inputPool, w·inputPool, C]` for a
   * convolution over h×w pixels (max commutes with the monotone quantizer: the codes are those of
   * pooling the quantized values).
   */
  inputPool: number;
  /**
   * The output's activation quantizer, fused (a ReLU, then an unsigned grid): with α_out > 0 each
   * output y becomes α_out·min(round(min(max(y, 0), outputClip) / α_out), outputMax); 0: float output.
   */
  outputScale: number;
  /** ReLU's `maxValue` (Infinity for none). */
  outputClip: number;
  /** The output grid's largest code. */
  outputMax: number;
}

/** Weight bytes per filter block of 16, weight bit and kernel position: one per 8 input channels. */
export const channelBytes = (channels: number): number => Math.ceil(channels / 8);

/** The byte of the weight layout that holds bit `i` of filter `f` at kernel position `s`, channel `c` (bit c % 8 of it). */
const weightByte = (a: Pick<IntConvAttrs, 'kernelH' | 'kernelW' | 'channels' | 'weightBits'>, f: number, i: number, s: number, c: number): number =>
  ((((f >> 4) * a.weightBits + i) * a.kernelH * a.kernelW + s) * channelBytes(a.channels) + (c >> 3)) * 16 + (f & 15);

/**
 * The weight layout of a kernel's codes k (tfjs order `[kh, kw, C, filters]`, as `unpackCodes`
 * returns them): the bits of the stored codes u = k − minCode, 16 filters per block (see above).
 */
export function packWeightPlanes(codes: ArrayLike<number>, minCode: number, a: Pick<IntConvAttrs, 'kernelH' | 'kernelW' | 'channels' | 'filters' | 'weightBits'>): Int32Array {
  const positions = a.kernelH * a.kernelW;
  const bytes = new Uint8Array(Math.ceil(a.filters / 16) * a.weightBits * positions * channelBytes(a.channels) * 16);
  for (let s = 0; s < positions; s++) {
    for (let c = 0; c < a.channels; c++) {
      for (let f = 0; f < a.filters; f++) {
        const u = codes[(s * a.channels + c) * a.filters + f]! - minCode;
        for (let i = 0; i < a.weightBits; i++) if ((u >> i) & 1) bytes[weightByte(a, f, i, s, c)]! |= 1 << (c & 7);
      }
    }
  }
  return new Int32Array(bytes.buffer);
}

/** The input's unsigned code of a value: round half to even of min(max(x, 0), clip)/α_a (f32), at most maxCode. */
export function activationCode(x: number, alpha: number, clip: number, maxCode: number): number {
  return Math.min(roundHalfEven(Math.fround(Math.min(Math.max(x, 0), Math.fround(clip)) / Math.fround(alpha))), maxCode);
}

/** The largest of each channel over the pool × pool windows of NHWC images (stride pool, no padding): `[n, ⌊h/pool⌋, ⌊w/pool⌋, C]`. */
export function maxPoolNhwc(x: Float32Array, shape: readonly number[], pool: number): { x: Float32Array; shape: [number, number, number, number] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [ph, pw] = [Math.floor(h / pool), Math.floor(w / pool)];
  const out = new Float32Array(n * ph * pw * c).fill(-Infinity);
  for (let img = 0; img < n; img++)
    for (let y = 0; y < ph * pool; y++)
      for (let xx = 0; xx < pw * pool; xx++)
        for (let ch = 0; ch < c; ch++) {
          const o = ((img * ph + Math.floor(y / pool)) * pw + Math.floor(xx / pool)) * c + ch;
          out[o] = Math.max(out[o]!, x[((img * h + y) * w + xx) * c + ch]!);
        }
  return { x: out, shape: [n, ph, pw, c] };
}

/**
 * The integer convolution (reference): `input` is NHWC float32 `[n, h, w, C]` (before the fused
 * max-pool, if any); returns
 * `[n, outH, outW, filters]` = scale[f]·Σ k·v + bias[f], or with `outputScale` its fused ReLU and
 * unsigned quantizer.
 */
export function intConv2d(input: Float32Array, inputShape: readonly number[], planes: Int32Array, scale: Float32Array, bias: Float32Array, a: IntConvAttrs): Float32Array {
  const { x, shape } = a.inputPool > 1 ? maxPoolNhwc(input, inputShape, a.inputPool) : { x: input, shape: inputShape };
  const [n, h, w, channels] = shape as [number, number, number, number];
  const bytes = new Uint8Array(planes.buffer, planes.byteOffset, planes.byteLength);
  const positions = a.kernelH * a.kernelW;
  const maxCode = 2 ** a.activationBits - 1;
  // the float attributes as the WebAssembly build receives them: f32
  const [outputScale, outputClip] = [a.outputScale, a.outputClip].map(Math.fround) as [number, number];
  // the stored weight codes u, back from the layout: [s][c][f]
  const u = new Int32Array(positions * channels * a.filters);
  for (let s = 0; s < positions; s++)
    for (let c = 0; c < channels; c++)
      for (let f = 0; f < a.filters; f++)
        for (let i = 0; i < a.weightBits; i++) u[(s * channels + c) * a.filters + f]! |= ((bytes[weightByte(a, f, i, s, c)]! >> (c & 7)) & 1) << i;
  const out = new Float32Array(n * a.outH * a.outW * a.filters);
  const v = new Int32Array(h * w * channels);
  for (let img = 0; img < n; img++) {
    for (let k = 0; k < h * w * channels; k++) v[k] = activationCode(x[img * h * w * channels + k]!, a.inputScale, a.inputClip, maxCode);
    for (let oy = 0; oy < a.outH; oy++) {
      for (let ox = 0; ox < a.outW; ox++) {
        const acc = new Array<number>(a.filters).fill(0);
        let sumV = 0;
        for (let s = 0; s < positions; s++) {
          const iy = oy * a.strideH + Math.floor(s / a.kernelW) - a.padTop;
          const ix = ox * a.strideW + (s % a.kernelW) - a.padLeft;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; // zero padding: code 0
          for (let c = 0; c < channels; c++) {
            const code = v[(iy * w + ix) * channels + c]!;
            sumV += code;
            for (let f = 0; f < a.filters; f++) acc[f]! += u[(s * channels + c) * a.filters + f]! * code;
          }
        }
        const o = ((img * a.outH + oy) * a.outW + ox) * a.filters;
        for (let f = 0; f < a.filters; f++) {
          // as f32 arithmetic: the integer rounded to f32, times the scale, plus the bias
          const y = Math.fround(Math.fround(scale[f]! * Math.fround(acc[f]! + a.minCode * sumV)) + bias[f]!);
          out[o + f] = outputScale > 0 ? Math.fround(Math.min(roundHalfEven(Math.fround(Math.min(Math.max(y, 0), outputClip) / outputScale)), a.outputMax) * outputScale) : y;
        }
      }
    }
  }
  return out;
}

/** Name of the kernel of {@link quantizeUnsigned}; input `x` (float32), attributes {@link UnsignedQuantizeAttrs}. */
export const UNSIGNED_QUANTIZE_KERNEL = 'SrqUnsignedQuantize';

/** An unsigned activation quantizer after a ReLU (with `maxValue` as `clip`), at inference. */
export interface UnsignedQuantizeAttrs {
  alpha: number;
  /** ReLU's `maxValue` (Infinity for none). */
  clip: number;
  maxCode: number;
}

/**
 * α·min(round(min(max(x, 0), clip) / α), maxCode) per element, in f32 arithmetic with round half
 * to even: what a ReLU and an unsigned activation quantizer compute at inference as tfjs ops
 * (relu, div, round, clip, mul), in one pass (the reference of the WebAssembly build).
 */
export function quantizeUnsigned(x: Float32Array, a: UnsignedQuantizeAttrs): Float32Array {
  const [alpha, clip] = [Math.fround(a.alpha), Math.fround(a.clip)];
  return x.map((v) => Math.fround(Math.min(roundHalfEven(Math.fround(Math.min(Math.max(v, 0), clip) / alpha)), a.maxCode) * alpha));
}
