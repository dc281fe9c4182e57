// AssemblyScript source of the integer convolution of packed models (WebAssembly SIMD), compiled by
// `asc` (scripts/build-wasm.mjs) and embedded in src/generated/. The same computation as `intConv2d`
// in @srq/quantizers (packages/quantizers/src/integer-conv.ts), the readable reference that the
// tests compare this against (specification §10). Table lookups, 16 filters at a time: each input
// pixel's codes are quantized once and turned into tables — for every 4 channels, the 16 sums of
// their codes selected by each 4-bit pattern — and every weight plane byte of 16 filters picks
// two such sums with i8x16.swizzle. The integer sums are exact; then one scale multiply and the
// bias (and, fused, the next ReLU and activation quantizer).
//
// Memory: the caller places every array above `heapBase()` and passes byte offsets; nothing is
// allocated here. Scratch (see `scratchBytes`): the image's pixel tables and sums, one pixel's
// codes, a zero table for the padding, and one position's sums.

/** First byte the caller may use. */
export function heapBase(): usize {
  return __heap_base;
}

@inline function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

/** Activation digits of 4 bits: codes of more than 4 bits are split in two. */
@inline function digitsOf(activationBits: i32): i32 {
  return activationBits > 4 ? 2 : 1;
}

/** Bytes of one pixel's tables: per digit, per 4 channels (channels padded to 8), 16 bytes. */
@inline function pixelTableBytes(channels: i32, activationBits: i32): i32 {
  return digitsOf(activationBits) * (((channels + 7) >> 3) << 1) * 16;
}

/** Bytes of scratch for an input of h×w pixels of `channels` channels. */
export function scratchBytes(h: i32, w: i32, channels: i32, activationBits: i32, filters: i32, positions: i32): usize {
  const table = <usize>pixelTableBytes(channels, activationBits);
  return align16(<usize>(h * w) * table) + align16(table) + align16(<usize>(h * w * 4)) + align16(<usize>(((channels + 31) >> 5) * 32)) + align16(<usize>(((filters + 15) & ~15) * 4)) + align16(<usize>(positions * 4));
}

/** Sum of the four i32 lanes. */
@inline function lanes(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/**
 * Quantizes one pixel's `channels` floats at `x` to unsigned codes (round half to even of
 * x·inverseScale, clipped to [0, maxCode]) into `codes` (padded with zeros to a multiple of 32
 * bytes), and returns their sum.
 */
function quantizePixel(x: usize, channels: i32, inverseScale: f32, maxCode: i32, codes: usize): i32 {
  const padded = ((channels + 31) >> 5) << 5;
  memory.fill(codes, 0, <usize>padded);
  const inv = f32x4.splat(inverseScale);
  const top = i32x4.splat(maxCode);
  const zero = i32x4.splat(0);
  let c = 0;
  for (; c + 16 <= channels; c += 16) {
    const at = x + <usize>(c << 2);
    const q0 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(at), inv))), zero), top);
    const q1 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(at + 16), inv))), zero), top);
    const q2 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(at + 32), inv))), zero), top);
    const q3 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(at + 48), inv))), zero), top);
    v128.store(codes + <usize>c, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  }
  for (; c < channels; c++) {
    const v = <i32>nearest<f32>(load<f32>(x + <usize>(c << 2)) * inverseScale);
    store<u8>(codes + <usize>c, <u8>(v < 0 ? 0 : v > maxCode ? maxCode : v));
  }
  let sum = i32x4.splat(0);
  for (let k = 0; k < padded; k += 16) sum = i32x4.add(sum, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(codes + <usize>k))));
  return lanes(sum);
}

/**
 * One pixel's tables from its codes: for digit d (4 bits of each code) and channels 4g..4g+3,
 * byte n of table (d, g) is Σ_b bit b of n · digit d of code(4g + b).
 */
function pixelTables(codes: usize, channels: i32, activationBits: i32, out: usize): void {
  const groups = ((channels + 7) >> 3) << 1;
  const digits = digitsOf(activationBits);
  const m0 = v128(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
  const m1 = v128(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1);
  const m2 = v128(0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1);
  const m3 = v128(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1);
  const low = i8x16.splat(15);
  for (let d = 0; d < digits; d++) {
    for (let g = 0; g < groups; g++) {
      let v = v128.load32_splat(codes + <usize>(g << 2));
      v = d === 0 ? v128.and(v, low) : i8x16.shr_u(v, 4);
      const t = i8x16.add(
        i8x16.add(v128.and(i8x16.swizzle(v, i8x16.splat(0)), m0), v128.and(i8x16.swizzle(v, i8x16.splat(1)), m1)),
        i8x16.add(v128.and(i8x16.swizzle(v, i8x16.splat(2)), m2), v128.and(i8x16.swizzle(v, i8x16.splat(3)), m3)),
      );
      v128.store(out + <usize>((d * groups + g) << 4), t);
    }
  }
}

/**
 * Adds the bytes of `t` (16 filters), times 2^shift, to the four i32x4 sums at `sums`.
 */
@inline function flush(t: v128, shift: i32, sums: usize): void {
  const lo = i16x8.extend_low_i8x16_u(t);
  const hi = i16x8.extend_high_i8x16_u(t);
  v128.store(sums, i32x4.add(v128.load(sums), i32x4.shl(i32x4.extend_low_i16x8_u(lo), shift)));
  v128.store(sums + 16, i32x4.add(v128.load(sums + 16), i32x4.shl(i32x4.extend_high_i16x8_u(lo), shift)));
  v128.store(sums + 32, i32x4.add(v128.load(sums + 32), i32x4.shl(i32x4.extend_low_i16x8_u(hi), shift)));
  v128.store(sums + 48, i32x4.add(v128.load(sums + 48), i32x4.shl(i32x4.extend_high_i16x8_u(hi), shift)));
}

/**
 * The sums of one block of 16 filters with 2-bit weights (planes at `plane0`, `plane1`) over one
 * output position's tables (`pointers`, one per kernel position, `digitOffset` into each): both
 * bits in one pass, bit 1 weighted 2, digit `shift` bits up.
 */
function dot2(pointers: usize, digitOffset: usize, plane0: usize, plane1: usize, positions: i32, channelBytes: i32, rounds: i32, shift: i32, sums: usize): void {
  const lowNibble = i8x16.splat(15);
  let t0 = i8x16.splat(0);
  let t1 = i8x16.splat(0);
  let count = 0;
  let w = <usize>0;
  for (let s = 0; s < positions; s++) {
    const table = <usize>load<u32>(pointers + <usize>(s << 2)) + digitOffset;
    for (let q = 0; q < channelBytes; q++, w += 16) {
      const lo = v128.load(table + <usize>(q << 5));
      const hi = v128.load(table + <usize>(q << 5) + 16);
      const w0 = v128.load(plane0 + w);
      const w1 = v128.load(plane1 + w);
      t0 = i8x16.add(t0, i8x16.add(i8x16.swizzle(lo, v128.and(w0, lowNibble)), i8x16.swizzle(hi, i8x16.shr_u(w0, 4))));
      t1 = i8x16.add(t1, i8x16.add(i8x16.swizzle(lo, v128.and(w1, lowNibble)), i8x16.swizzle(hi, i8x16.shr_u(w1, 4))));
      if (++count === rounds) {
        flush(t0, shift, sums);
        flush(t1, shift + 1, sums);
        t0 = i8x16.splat(0);
        t1 = i8x16.splat(0);
        count = 0;
      }
    }
  }
  if (count) {
    flush(t0, shift, sums);
    flush(t1, shift + 1, sums);
  }
}

/**
 * The integer convolution of `n` NHWC images at `x` (float32) with the weights at `planes`
 * (layout of `packWeightPlanes`): writes `[n, outH, outW, filters]` float32 at `out`. With
 * `outputScale` > 0 the output is quantized as an unsigned activation quantizer after a ReLU
 * does: min(max(y, 0), outputClip) / outputScale rounded, clipped to [0, outputMax], times
 * outputScale.
 */
export function intConv2d(
  n: i32, h: i32, w: i32, channels: i32, x: usize, planes: usize, scale: usize, bias: usize, out: usize,
  kernelH: i32, kernelW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32,
  filters: i32, weightBits: i32, minCode: i32, activationBits: i32, inverseInputScale: f32,
  outputScale: f32, outputClip: f32, outputMax: f32, scratch: usize,
): void {
  const channelBytes = (channels + 7) >> 3; // weight bytes per filter, plane and kernel position
  const positions = kernelH * kernelW;
  const digits = digitsOf(activationBits);
  const tableBytes = <usize>pixelTableBytes(channels, activationBits);
  const digitBytes = <usize>(channelBytes << 5); // one digit's tables of a pixel
  const blocks = (filters + 15) >> 4;
  const tables = scratch;
  const zeroTable = tables + align16(<usize>(h * w) * tableBytes);
  const pixelSums = zeroTable + align16(tableBytes);
  const codes = pixelSums + align16(<usize>(h * w * 4));
  const sums = codes + align16(<usize>(((channels + 31) >> 5) * 32));
  const pointers = sums + align16(<usize>(blocks << 6)); // each kernel position's table, for one output
  memory.fill(zeroTable, 0, tableBytes);
  const maxCode = (1 << activationBits) - 1;
  // byte sums per flush: two table entries of at most 4·15 (or 4·maxCode) per weight byte
  const maxDigit = min(maxCode, 15);
  const rounds = 255 / (8 * maxDigit);
  const lowNibble = i8x16.splat(15);
  for (let img = 0; img < n; img++) {
    for (let p = 0; p < h * w; p++) {
      store<i32>(pixelSums + <usize>(p << 2), quantizePixel(x + <usize>((img * h * w + p) * channels * 4), channels, inverseInputScale, maxCode, codes));
      pixelTables(codes, channels, activationBits, tables + <usize>p * tableBytes);
    }
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let sumV = 0;
        let at = pointers;
        for (let ky = 0; ky < kernelH; ky++) {
          const iy = oy * strideH + ky - padTop;
          for (let kx = 0; kx < kernelW; kx++) {
            const ix = ox * strideW + kx - padLeft;
            const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            if (inside) sumV += load<i32>(pixelSums + <usize>((iy * w + ix) << 2));
            store<u32>(at, <u32>(inside ? tables + <usize>(iy * w + ix) * tableBytes : zeroTable));
            at += 4;
          }
        }
        memory.fill(sums, 0, <usize>(blocks << 6));
        for (let b = 0; b < blocks; b++) {
          const blockSums = sums + <usize>(b << 6);
          if (weightBits === 2) {
            // both weight bits in one pass: each table pair loaded once
            const plane0 = planes + <usize>(((b * 2 * positions) * channelBytes) << 4);
            const plane1 = plane0 + <usize>((positions * channelBytes) << 4);
            for (let d = 0; d < digits; d++) dot2(pointers, <usize>d * digitBytes, plane0, plane1, positions, channelBytes, rounds, 4 * d, blockSums);
            continue;
          }
          for (let i = 0; i < weightBits; i++) {
            for (let d = 0; d < digits; d++) {
              let t = i8x16.splat(0);
              let count = 0;
              for (let s = 0; s < positions; s++) {
                const table = <usize>load<u32>(pointers + <usize>(s << 2)) + <usize>d * digitBytes;
                const weights = planes + <usize>((((b * weightBits + i) * positions + s) * channelBytes) << 4);
                for (let q = 0; q < channelBytes; q++) {
                  const wq = v128.load(weights + <usize>(q << 4));
                  const lo = i8x16.swizzle(v128.load(table + <usize>(q << 5)), v128.and(wq, lowNibble));
                  const hi = i8x16.swizzle(v128.load(table + <usize>(q << 5) + 16), i8x16.shr_u(wq, 4));
                  t = i8x16.add(t, i8x16.add(lo, hi));
                  if (++count === rounds) {
                    flush(t, i + 4 * d, blockSums);
                    t = i8x16.splat(0);
                    count = 0;
                  }
                }
              }
              if (count) flush(t, i + 4 * d, blockSums);
            }
          }
        }
        const o = out + <usize>((((img * outH + oy) * outW + ox) * filters) << 2);
        const offset = minCode * sumV;
        // scale·(Σ + offset) + bias, then the fused ReLU and quantizer: four filters at a time
        const offset4 = i32x4.splat(offset);
        const zero4 = f32x4.splat(0);
        const clip4 = f32x4.splat(outputClip);
        const alpha4 = f32x4.splat(outputScale);
        const top4 = f32x4.splat(outputMax);
        let f = 0;
        for (; f + 4 <= filters; f += 4) {
          const at4 = <usize>(f << 2);
          let y = f32x4.add(f32x4.mul(v128.load(scale + at4), f32x4.convert_i32x4_s(i32x4.add(v128.load(sums + at4), offset4))), v128.load(bias + at4));
          if (outputScale > 0) y = f32x4.mul(f32x4.min(f32x4.nearest(f32x4.div(f32x4.min(f32x4.max(y, zero4), clip4), alpha4)), top4), alpha4);
          v128.store(o + at4, y);
        }
        for (; f < filters; f++) {
          let y = load<f32>(scale + <usize>(f << 2)) * <f32>(load<i32>(sums + <usize>(f << 2)) + offset) + load<f32>(bias + <usize>(f << 2));
          if (outputScale > 0) y = min(nearest(min(max(y, 0), outputClip) / outputScale), outputMax) * outputScale;
          store<f32>(o + <usize>(f << 2), y);
        }
      }
    }
  }
}

/**
 * An unsigned activation quantizer after a ReLU, at inference, on `n` floats at `x`: writes
 * α·min(round(min(max(x, 0), clip) / α), maxCode) at `out` (f32 arithmetic, round half to even).
 */
export function quantizeUnsigned(x: usize, n: i32, alpha: f32, clip: f32, maxCode: f32, out: usize): void {
  const a = f32x4.splat(alpha);
  const c = f32x4.splat(clip);
  const top = f32x4.splat(maxCode);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>(i << 2);
    const y = f32x4.min(f32x4.max(v128.load(x + at), zero), c);
    v128.store(out + at, f32x4.mul(f32x4.min(f32x4.nearest(f32x4.div(y, a)), top), a));
  }
  for (; i < n; i++) {
    const at = <usize>(i << 2);
    store<f32>(out + at, min(nearest(min(max(load<f32>(x + at), 0), clip) / alpha), maxCode) * alpha);
  }
}
