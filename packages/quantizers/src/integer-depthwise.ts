import { activationCode, type ConvGeometry } from './integer-conv';
import { roundHalfEven } from './fused-srq';

/**
 * Integer inference of a quantized depthwise convolution (depth multiplier 1; specification §10):
 * the input quantized once to its unsigned codes v, each channel's output the exact integer
 * Σ k·v over its own kh×kw window (the signed weight codes k of that channel; zero padding has
 * code 0), then `scale[c] · (that integer) + bias[c]` with `scale[c] = α_w[c]·α_a`, and
 * optionally the next ReLU and unsigned quantizer. Each weight is held as a 16-bit integer
 * (depthwise kernels are small: kh·kw per channel); the WebAssembly build (in `@srq/backends`)
 * multiplies 8 channels at a time (`i32x4.extmul_*_i16x8_s`).
 *
 * Weight layout ({@link packDepthwiseCodes}): per tap (row, column), the channels' codes as int16,
 * channels padded to a multiple of 8, two per int32.
 */

/** Name of the kernel; inputs `x` (float32 NHWC), `weights` (int32, {@link packDepthwiseCodes}), `scale` and `bias` (float32 [channels]). */
export const INT_DEPTHWISE_KERNEL = 'SrqIntDepthwiseConv2D';

/** Static parameters of {@link intDepthwiseConv2d} (`filters` = `channels`). */
export interface IntDepthwiseAttrs extends ConvGeometry {
  activationBits: number;
  /** α_a of the input's unsigned grid and the ReLU's `maxValue` before its quantizer (Infinity for none), as in `IntConvAttrs`. */
  inputScale: number;
  inputClip: number;
  /** The output's fused ReLU + unsigned quantizer (α_out, clip, largest code); α_out 0: float output. */
  outputScale: number;
  outputClip: number;
  outputMax: number;
}

/** Channels padded to the kernel's 8-channel vectors. */
const paddedChannels = (channels: number): number => Math.ceil(channels / 8) * 8;

/** The weight layout of a depthwise kernel's codes k (tfjs order `[kh, kw, C, 1]`). */
export function packDepthwiseCodes(codes: ArrayLike<number>, a: Pick<ConvGeometry, 'kernelH' | 'kernelW' | 'channels'>): Int32Array {
  const cp = paddedChannels(a.channels);
  const out = new Int16Array(a.kernelH * a.kernelW * cp);
  for (let t = 0; t < a.kernelH * a.kernelW; t++) for (let c = 0; c < a.channels; c++) out[t * cp + c] = codes[t * a.channels + c]!;
  return new Int32Array(out.buffer);
}

/**
 * The integer depthwise convolution (reference): `input` NHWC float32 `[n, h, w, C]`; returns
 * `[n, outH, outW, C]`.
 */
export function intDepthwiseConv2d(input: Float32Array, shape: readonly number[], weights: Int32Array, scale: Float32Array, bias: Float32Array, a: IntDepthwiseAttrs): Float32Array {
  const [n, h, w, channels] = shape as [number, number, number, number];
  const cp = paddedChannels(channels);
  const k = new Int16Array(weights.buffer, weights.byteOffset, a.kernelH * a.kernelW * cp);
  const maxCode = 2 ** a.activationBits - 1;
  const [outputScale, outputClip] = [a.outputScale, a.outputClip].map(Math.fround) as [number, number];
  const out = new Float32Array(n * a.outH * a.outW * channels);
  const v = new Int32Array(h * w * channels);
  for (let img = 0; img < n; img++) {
    for (let i = 0; i < h * w * channels; i++) v[i] = activationCode(input[img * h * w * channels + i]!, a.inputScale, a.inputClip, maxCode);
    for (let oy = 0; oy < a.outH; oy++)
      for (let ox = 0; ox < a.outW; ox++)
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (let ky = 0; ky < a.kernelH; ky++)
            for (let kx = 0; kx < a.kernelW; kx++) {
              const iy = oy * a.strideH + ky - a.padTop;
              const ix = ox * a.strideW + kx - a.padLeft;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) acc += k[(ky * a.kernelW + kx) * cp + c]! * v[(iy * w + ix) * channels + c]!;
            }
          const y = Math.fround(Math.fround(scale[c]! * Math.fround(acc)) + bias[c]!);
          out[((img * a.outH + oy) * a.outW + ox) * channels + c] = outputScale > 0 ? Math.fround(Math.min(roundHalfEven(Math.fround(Math.min(Math.max(y, 0), outputClip) / outputScale)), a.outputMax) * outputScale) : y;
        }
  }
  return out;
}
