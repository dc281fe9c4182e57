// The integer convolution of packed models: the JavaScript reference against a direct sum of
// codes (Σ k·v, no tables), and the WebAssembly SIMD build against the reference, bit for bit,
// over shapes (padding, strides, channels not a multiple of 8, 16 or 32, dense rows) and every
// pair of weight and activation bit-widths (1–8 × 1, 2, 4, 8; a few on LeNet's conv2).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { activationCode, convQuantize, intConv2d, intDepthwiseConv2d, packConvBlocks, packDepthwiseCodes, packWeightPlanes, padConvBias, quantizeUnsigned, roundHalfEven, type ConvQuantizeAttrs, type IntConvAttrs, type IntDepthwiseAttrs } from '@srq/quantizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadIntConvWasm, runConvQuantize, runIntConv, runIntDepthwise, runQuantizeUnsigned } from './int-conv-kernel';

/** A small deterministic generator (tests only). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface Case {
  name: string;
  shape: [number, number, number, number];
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  filters: number;
  /** A fused max-pool of the input (its shape is before the pool) and the ReLU's clip before the input's quantizer. */
  pool?: number;
  clip?: number;
}

const CASES: Case[] = [
  { name: 'LeNet conv2 (5×5×32 → 64, valid)', shape: [2, 12, 12, 32], kernel: [5, 5], stride: [1, 1], pad: [0, 0], filters: 64 },
  { name: '3×3 same, 20 channels, stride 2', shape: [1, 7, 9, 20], kernel: [3, 3], stride: [2, 2], pad: [1, 1], filters: 5 },
  { name: 'dense 1,000 → 7 (one pixel)', shape: [3, 1, 1, 1000], kernel: [1, 1], stride: [1, 1], pad: [0, 0], filters: 7 },
  { name: '1×1, 3 channels, 9 filters (a 2/2 block of 4 and a rest)', shape: [2, 4, 4, 3], kernel: [1, 1], stride: [1, 1], pad: [0, 0], filters: 9 },
  { name: 'max-pool 2 (odd 9×11 input) then 3×3 same, ReLU6 clip, 13 channels', shape: [2, 9, 11, 13], kernel: [3, 3], stride: [1, 1], pad: [1, 1], filters: 18, pool: 2, clip: 0.3 },
  { name: 'max-pool 2 then a dense layer over all pixels (pool, flatten, dense)', shape: [3, 8, 8, 16], kernel: [4, 4], stride: [1, 1], pad: [0, 0], filters: 10, pool: 2 },
];

/** The output as a float, or quantized by a fused ReLU (+ clip) and unsigned grid. */
type Output = { outputScale: number; outputClip: number; outputMax: number };
const FLOAT: Output = { outputScale: 0, outputClip: Infinity, outputMax: 0 };
const RELU_3BIT: Output = { outputScale: Math.fround(0.07), outputClip: Infinity, outputMax: 7 };
const RELU6_2BIT: Output = { outputScale: 1.5, outputClip: 6, outputMax: 3 };

function setup(c: Case, weightBits: number, activationBits: number, seed: number, output: Output = FLOAT) {
  const rand = lcg(seed);
  const [n, inH, inW, channels] = c.shape;
  const pool = c.pool ?? 1;
  const [h, w] = [Math.floor(inH / pool), Math.floor(inW / pool)];
  const minCode = -(2 ** (weightBits - 1));
  const attrs: IntConvAttrs = {
    kernelH: c.kernel[0], kernelW: c.kernel[1], strideH: c.stride[0], strideW: c.stride[1], padTop: c.pad[0], padLeft: c.pad[1],
    outH: Math.floor((h + 2 * c.pad[0] - c.kernel[0]) / c.stride[0]) + 1, outW: Math.floor((w + 2 * c.pad[1] - c.kernel[1]) / c.stride[1]) + 1,
    channels, filters: c.filters, weightBits, minCode, activationBits, inputScale: 0.05, inputClip: c.clip ?? Infinity, inputPool: pool, ...output,
  };
  const codes = Array.from({ length: c.kernel[0] * c.kernel[1] * channels * c.filters }, () => minCode + Math.floor(rand() * 2 ** weightBits));
  // inputs on and off the grid (α = 0.05), negatives and values above the top code included
  const x = Float32Array.from({ length: n * inH * inW * channels }, () => (rand() < 0.5 ? Math.fround(0.05 * Math.floor(rand() * 2 ** activationBits)) : (rand() - 0.2) * 0.06 * 2 ** activationBits));
  const scale = Float32Array.from({ length: c.filters }, () => 0.001 + rand() * 0.01);
  const bias = Float32Array.from({ length: c.filters }, () => rand() - 0.5);
  return { attrs, codes, x, scale, bias, planes: packWeightPlanes(codes, minCode, attrs) };
}

/** Σ k·v per output, straight from the codes. */
function direct(c: Case, s: ReturnType<typeof setup>): Float32Array {
  const [n, inH, inW, channels] = c.shape;
  const a = s.attrs;
  const [h, w] = [Math.floor(inH / a.inputPool), Math.floor(inW / a.inputPool)];
  /** The input after the max-pool: the largest value of its window. */
  const pooled = (img: number, iy: number, ix: number, ch: number) => {
    let m = -Infinity;
    for (let dy = 0; dy < a.inputPool; dy++)
      for (let dx = 0; dx < a.inputPool; dx++) m = Math.max(m, s.x[((img * inH + iy * a.inputPool + dy) * inW + ix * a.inputPool + dx) * channels + ch]!);
    return m;
  };
  const out = new Float32Array(n * a.outH * a.outW * a.filters);
  for (let img = 0; img < n; img++)
    for (let oy = 0; oy < a.outH; oy++)
      for (let ox = 0; ox < a.outW; ox++)
        for (let f = 0; f < a.filters; f++) {
          let acc = 0;
          for (let ky = 0; ky < a.kernelH; ky++)
            for (let kx = 0; kx < a.kernelW; kx++) {
              const iy = oy * a.strideH + ky - a.padTop;
              const ix = ox * a.strideW + kx - a.padLeft;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let ch = 0; ch < channels; ch++) {
                const v = activationCode(pooled(img, iy, ix, ch), a.inputScale, a.inputClip, 2 ** a.activationBits - 1);
                acc += s.codes[((ky * a.kernelW + kx) * channels + ch) * a.filters + f]! * v;
              }
            }
          const y = Math.fround(Math.fround(s.scale[f]! * Math.fround(acc)) + s.bias[f]!);
          // the float graph's ReLU (+ maxValue) and activation quantizer: α·clip(round(relu(y)/α), 0, max)
          out[((img * a.outH + oy) * a.outW + ox) * a.filters + f] = a.outputScale > 0 ? Math.fround(Math.min(roundHalfEven(Math.fround(Math.min(Math.max(y, 0), a.outputClip) / a.outputScale)), a.outputMax) * a.outputScale) : y;
        }
  return out;
}

describe('integer convolution', () => {
  beforeAll(async () => {
    expect(await loadIntConvWasm()).toBe(true);
  });

  it.each(CASES)('the reference equals Σ k·v of the codes: $name', (c) => {
    for (const [wb, ab, output] of [[1, 1, FLOAT], [2, 2, FLOAT], [2, 2, RELU_3BIT], [3, 4, RELU6_2BIT], [8, 8, FLOAT]] as const) {
      const s = setup(c, wb, ab, 7 * wb + ab, output);
      expect(Array.from(intConv2d(s.x, c.shape, s.planes, s.scale, s.bias, s.attrs)), `${wb}/${ab}`).toEqual(Array.from(direct(c, s)));
    }
  });

  it.each(CASES)('the WebAssembly SIMD build equals the reference bit for bit, at every bit-width: $name', (c) => {
    // every bit-width on the small shapes; on LeNet's conv2 (the slow reference) a few
    const large = c.shape[3] >= 32;
    for (let wb = 1; wb <= 8; wb++) {
      for (const ab of [1, 2, 4, 8]) {
        if (large && !((wb === ab && [1, 2, 8].includes(wb)) || (wb === 3 && ab === 4))) continue;
        const s = setup(c, wb, ab, 100 * wb + ab, ab === 2 ? RELU_3BIT : ab === 4 ? RELU6_2BIT : FLOAT);
        const reference = intConv2d(s.x, c.shape, s.planes, s.scale, s.bias, s.attrs);
        const simd = runIntConv(s.x, c.shape, s.planes, s.scale, s.bias, s.attrs);
        expect(Array.from(simd), `${wb}/${ab}`).toEqual(Array.from(reference));
      }
    }
  });

  it.each([
    ['ReLU, 2 bits', { alpha: Math.fround(0.37), clip: Infinity, maxCode: 3 }],
    ['ReLU6, 4 bits', { alpha: Math.fround(0.4), clip: 6, maxCode: 15 }],
    ['ReLU, 8 bits', { alpha: Math.fround(0.013), clip: Infinity, maxCode: 255 }],
  ])('the fused ReLU + unsigned quantizer equals the tfjs ops it replaces, bit for bit (%s)', async (_, a) => {
    const rand = lcg(3);
    // 1,003 values: SIMD body and scalar tail; ties (k + 0.5)·α included
    const x = Float32Array.from({ length: 1003 }, (_, i) => (i % 7 === 0 ? Math.fround((Math.floor(rand() * 20) + 0.5) * a.alpha) : (rand() - 0.3) * 4 * a.maxCode * a.alpha));
    await tf.setBackend('cpu');
    const ops = tf.tidy(() => {
      const y = tf.minimum(tf.relu(tf.tensor1d(x)), a.clip);
      return Array.from(tf.mul(tf.clipByValue(tf.round(tf.div(y, a.alpha)), 0, a.maxCode), a.alpha).dataSync());
    });
    expect(Array.from(quantizeUnsigned(x, a))).toEqual(ops);
    expect(Array.from(runQuantizeUnsigned(x, a))).toEqual(ops);
  });

  // the float first layer with its ReLU, 2×2 max-pool and quantizer fused (CONV_QUANTIZE_KERNEL)
  it.each([
    { name: 'LeNet conv1 (28×28×1, 5×5 → 32, valid) + pool 2, 2 bits', shape: [2, 28, 28, 1], kernel: 5, stride: 1, same: false, filters: 32, pool: 2 as const, clip: Infinity, maxCode: 3 },
    { name: 'RGB 3×3 same, stride 2, 13 filters, ReLU6, 4 bits, no pool (odd 9×11)', shape: [2, 9, 11, 3], kernel: 3, stride: 2, same: true, filters: 13, pool: 1 as const, clip: 6, maxCode: 15 },
    { name: '2 channels 3×3 same + pool 2 (odd 7×9), 20 filters, 8 bits', shape: [1, 7, 9, 2], kernel: 3, stride: 1, same: true, filters: 20, pool: 2 as const, clip: Infinity, maxCode: 255 },
  ])('the fused float conv + ReLU + max-pool + quantizer equals the tfjs ops up to float rounding, and its SIMD build the reference bit for bit: $name', async (c) => {
    const rand = lcg(11);
    const [n, h, w, channels] = c.shape as [number, number, number, number];
    const kernel = Float32Array.from({ length: c.kernel * c.kernel * channels * c.filters }, () => Math.fround(0.07 * (Math.floor(rand() * 4) - 2)));
    const bias = Float32Array.from({ length: c.filters }, () => Math.fround(rand() - 0.3));
    const x = Float32Array.from({ length: n * h * w * channels }, () => Math.fround(rand()));
    const outH = c.same ? Math.ceil(h / c.stride) : Math.floor((h - c.kernel) / c.stride) + 1;
    const outW = c.same ? Math.ceil(w / c.stride) : Math.floor((w - c.kernel) / c.stride) + 1;
    const padTop = c.same ? Math.floor(Math.max((outH - 1) * c.stride + c.kernel - h, 0) / 2) : 0;
    const padLeft = c.same ? Math.floor(Math.max((outW - 1) * c.stride + c.kernel - w, 0) / 2) : 0;
    const alpha = Math.fround(c.maxCode === 3 ? 0.3 : 6 / c.maxCode);
    const a: ConvQuantizeAttrs = { kernelH: c.kernel, kernelW: c.kernel, strideH: c.stride, strideW: c.stride, padTop, padLeft, outH, outW, channels, filters: c.filters, pool: c.pool, alpha, clip: c.clip, maxCode: c.maxCode };
    const weights = packConvBlocks(kernel, a);
    const reference = convQuantize(x, c.shape, weights, padConvBias(bias, c.filters), a);
    await tf.setBackend('cpu');
    const ops = tf.tidy(() => {
      let y = tf.add(tf.conv2d(tf.tensor4d(x, c.shape as [number, number, number, number]), tf.tensor4d(kernel, [c.kernel, c.kernel, channels, c.filters]), c.stride, c.same ? 'same' : 'valid'), tf.tensor1d(bias));
      y = tf.minimum(tf.relu(y), c.clip);
      if (c.pool === 2) y = tf.maxPool(y as tf.Tensor4D, 2, 2, 'valid');
      return tf.mul(tf.clipByValue(tf.round(tf.div(y, alpha)), 0, c.maxCode), alpha).dataSync() as Float32Array;
    });
    expect(reference.length).toBe(ops.length);
    // equal up to float rounding of the sums: a code may differ by one step where a sum sits on a rounding boundary
    const differ = reference.filter((v, i) => v !== ops[i]).length;
    expect(reference.every((v, i) => Math.abs(v - ops[i]!) <= alpha * 1.0001)).toBe(true);
    expect(differ / reference.length).toBeLessThan(0.001);
    expect(Array.from(runConvQuantize(x, c.shape, weights, padConvBias(bias, c.filters), a))).toEqual(Array.from(reference));
  });

  // the integer depthwise convolution (INT_DEPTHWISE_KERNEL)
  it.each([
    { name: '3×3 same, 13 channels (8 + a rest), 2/2, ReLU6 epilogue', shape: [2, 7, 9, 13], kernel: 3, stride: 1, same: true, weightBits: 2, activationBits: 2, output: RELU6_2BIT },
    { name: '3×3 same, stride 2, 32 channels, 4/4, float output', shape: [1, 8, 8, 32], kernel: 3, stride: 2, same: true, weightBits: 4, activationBits: 4, output: FLOAT },
    { name: '5×5 valid, 5 channels, 8/8, ReLU 3-bit epilogue', shape: [3, 9, 6, 5], kernel: 5, stride: 1, same: false, weightBits: 8, activationBits: 8, output: RELU_3BIT },
  ])('the integer depthwise convolution: the reference equals Σ k·v of the codes, the SIMD build the reference bit for bit: $name', (c) => {
    const rand = lcg(23);
    const [n, h, w, channels] = c.shape as [number, number, number, number];
    const outH = c.same ? Math.ceil(h / c.stride) : Math.floor((h - c.kernel) / c.stride) + 1;
    const outW = c.same ? Math.ceil(w / c.stride) : Math.floor((w - c.kernel) / c.stride) + 1;
    const padTop = c.same ? Math.floor(Math.max((outH - 1) * c.stride + c.kernel - h, 0) / 2) : 0;
    const padLeft = c.same ? Math.floor(Math.max((outW - 1) * c.stride + c.kernel - w, 0) / 2) : 0;
    const a: IntDepthwiseAttrs = {
      kernelH: c.kernel, kernelW: c.kernel, strideH: c.stride, strideW: c.stride, padTop, padLeft, outH, outW, channels, filters: channels,
      activationBits: c.activationBits, inputScale: 0.05, inputClip: Infinity, ...c.output,
    };
    const minCode = -(2 ** (c.weightBits - 1));
    const codes = Array.from({ length: c.kernel * c.kernel * channels }, () => minCode + Math.floor(rand() * 2 ** c.weightBits));
    const x = Float32Array.from({ length: n * h * w * channels }, () => (rand() < 0.5 ? Math.fround(0.05 * Math.floor(rand() * 2 ** c.activationBits)) : (rand() - 0.2) * 0.06 * 2 ** c.activationBits));
    const scale = Float32Array.from({ length: channels }, () => 0.001 + rand() * 0.01);
    const bias = Float32Array.from({ length: channels }, () => rand() - 0.5);
    const weights = packDepthwiseCodes(codes, a);
    const reference = intDepthwiseConv2d(x, c.shape, weights, scale, bias, a);
    // Σ k·v straight from the codes
    const direct = new Float32Array(reference.length);
    for (let img = 0; img < n; img++)
      for (let oy = 0; oy < outH; oy++)
        for (let ox = 0; ox < outW; ox++)
          for (let ch = 0; ch < channels; ch++) {
            let acc = 0;
            for (let ky = 0; ky < c.kernel; ky++)
              for (let kx = 0; kx < c.kernel; kx++) {
                const [iy, ix] = [oy * c.stride + ky - padTop, ox * c.stride + kx - padLeft];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                acc += codes[(ky * c.kernel + kx) * channels + ch]! * activationCode(x[((img * h + iy) * w + ix) * channels + ch]!, 0.05, Infinity, 2 ** c.activationBits - 1);
              }
            const y = Math.fround(Math.fround(scale[ch]! * Math.fround(acc)) + bias[ch]!);
            direct[((img * outH + oy) * outW + ox) * channels + ch] = a.outputScale > 0 ? Math.fround(Math.min(roundHalfEven(Math.fround(Math.min(Math.max(y, 0), a.outputClip) / a.outputScale)), a.outputMax) * a.outputScale) : y;
          }
    expect(Array.from(reference)).toEqual(Array.from(direct));
    expect(Array.from(runIntDepthwise(x, c.shape, weights, scale, bias, a))).toEqual(Array.from(reference));
  });
});
