// AssemblyScript source of the integer convolution of packed models (WebAssembly SIMD), compiled by
// `asc` (scripts/build-wasm.mjs) and embedded in src/generated/. The same computation as `intConv2d`
// in @srq/quantizers (packages/quantizers/src/integer-conv.ts), the readable reference that the
// tests compare this against (specification §10). Table lookups, 16 filters at a time: each input
// pixel (max-pooled first when a pool is fused) is quantized once and its codes turned into tables — for every 4 channels, the 16 sums of
// their codes selected by each 4-bit pattern — and every weight plane byte of 16 filters picks
// two such sums with i8x16.swizzle. The integer sums are exact; then one scale multiply and the
// bias (and, fused, the next ReLU and activation quantizer).
//
// Memory: the caller places every array above `heapBase()` and passes byte offsets; nothing is
// allocated here. Scratch: see `scratchBytes`.

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

/**
 * Bytes of scratch for an input of h×w pixels (after the pooling) of `channels` channels: the
 * pixel tables and sums, a zero table, one pixel's codes and pooled values, one output's sums and
 * table pointers.
 */
export function scratchBytes(h: i32, w: i32, channels: i32, activationBits: i32, filters: i32, positions: i32): usize {
  const table = <usize>pixelTableBytes(channels, activationBits);
  const padded = <usize>(((channels + 31) >> 5) << 5);
  return align16(<usize>(h * w) * table) + align16(table) + align16(<usize>(h * w * 4)) + padded + padded * 4 + <usize>(((filters + 15) & ~15) * 4) + <usize>(positions * 4);
}

/** Sum of the four i32 lanes. */
@inline function lanes(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The largest of each channel over a pool×pool window of pixels at `x` (rows `rowFloats` apart) into `out`. */
function poolPixel(x: usize, rowFloats: i32, channels: i32, pool: i32, out: usize): void {
  let c = 0;
  for (; c + 4 <= channels; c += 4) {
    let m = v128.load(x + <usize>(c << 2));
    for (let py = 0; py < pool; py++)
      for (let px = 0; px < pool; px++) m = f32x4.max(m, v128.load(x + <usize>((py * rowFloats + px * channels + c) << 2)));
    v128.store(out + <usize>(c << 2), m);
  }
  for (; c < channels; c++) {
    let m = load<f32>(x + <usize>(c << 2));
    for (let py = 0; py < pool; py++)
      for (let px = 0; px < pool; px++) m = max(m, load<f32>(x + <usize>((py * rowFloats + px * channels + c) << 2)));
    store<f32>(out + <usize>(c << 2), m);
  }
}

/**
 * Quantizes one pixel's `channels` floats at `x` to unsigned codes — min(round(min(max(x, 0),
 * clip) / α), maxCode), round half to even: the activation quantizer's own f32 arithmetic — into
 * `codes` (padded with zeros to a multiple of 32 bytes), and returns their sum.
 */
function quantizePixel(x: usize, channels: i32, alpha: f32, clip: f32, maxCode: i32, codes: usize): i32 {
  const padded = ((channels + 31) >> 5) << 5;
  memory.fill(codes, 0, <usize>padded);
  const a = f32x4.splat(alpha);
  const c4 = f32x4.splat(clip);
  const top = f32x4.splat(<f32>maxCode);
  const zero = f32x4.splat(0);
  let c = 0;
  for (; c + 16 <= channels; c += 16) {
    const at = x + <usize>(c << 2);
    const q0 = i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.nearest(f32x4.div(f32x4.min(f32x4.max(v128.load(at), zero), c4), a)), top));
    const q1 = i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.nearest(f32x4.div(f32x4.min(f32x4.max(v128.load(at + 16), zero), c4), a)), top));
    const q2 = i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.nearest(f32x4.div(f32x4.min(f32x4.max(v128.load(at + 32), zero), c4), a)), top));
    const q3 = i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.nearest(f32x4.div(f32x4.min(f32x4.max(v128.load(at + 48), zero), c4), a)), top));
    v128.store(codes + <usize>c, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  }
  for (; c < channels; c++) {
    const v = min(nearest(min(max(load<f32>(x + <usize>(c << 2)), 0), clip) / alpha), <f32>maxCode);
    store<u8>(codes + <usize>c, <u8>(<i32>v));
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

/** The two table entries that a weight byte's nibbles pick (16 filters, 8 channels), added. */
@inline function lookup(table: usize, low: v128, high: v128): v128 {
  return i8x16.add(i8x16.swizzle(v128.load(table), low), i8x16.swizzle(v128.load(table + 16), high));
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
      t0 = i8x16.add(t0, i8x16.add(i8x16.swizzle(lo, v128.and(w0, lowNibble)), i8x16.swizzle(hi, v128.and(i16x8.shr_u(w0, 4), lowNibble))));
      t1 = i8x16.add(t1, i8x16.add(i8x16.swizzle(lo, v128.and(w1, lowNibble)), i8x16.swizzle(hi, v128.and(i16x8.shr_u(w1, 4), lowNibble))));
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
 * The sums of one block of 16 filters over one output position's tables (`pointers`,
 * `digitOffset` into each) for one weight bit's plane at `plane`, `shift` bits up (bit + 4·digit).
 */
function dotPlane(pointers: usize, digitOffset: usize, plane: usize, positions: i32, channelBytes: i32, rounds: i32, shift: i32, sums: usize): void {
  const lowNibble = i8x16.splat(15);
  let t = i8x16.splat(0);
  let count = 0;
  let w = <usize>0;
  for (let s = 0; s < positions; s++) {
    const table = <usize>load<u32>(pointers + <usize>(s << 2)) + digitOffset;
    for (let q = 0; q < channelBytes; q++, w += 16) {
      const wq = v128.load(plane + w);
      t = i8x16.add(t, lookup(table + <usize>(q << 5), v128.and(wq, lowNibble), v128.and(i16x8.shr_u(wq, 4), lowNibble)));
      if (++count === rounds) {
        flush(t, shift, sums);
        t = i8x16.splat(0);
        count = 0;
      }
    }
  }
  if (count) flush(t, shift, sums);
}

/**
 * scale·(Σ + offset) + bias for `filters` outputs at `o`, then, with `outputScale` > 0, the fused
 * ReLU and quantizer: four filters at a time.
 */
@inline function epilogue(sums: usize, offset: i32, scale: usize, bias: usize, filters: i32, o: usize, outputScale: f32, outputClip: f32, outputMax: f32): void {
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

/**
 * The integer convolution of `n` NHWC images of inH×inW pixels at `x` (float32) with the weights
 * at `planes` (layout of `packWeightPlanes`): max-pools the input by `pool`×`pool` windows
 * (1: none; the convolution then sees inH/pool × inW/pool pixels), quantizes it to codes with
 * the input's grid (α `inputScale`, after a ReLU clipped at `inputClip`), and writes
 * `[n, outH, outW, filters]` float32 at `out`. With `outputScale` > 0 the output is quantized as
 * an unsigned activation quantizer after a ReLU does: min(max(y, 0), outputClip) / outputScale
 * rounded, clipped to [0, outputMax], times outputScale.
 */
export function intConv2d(
  n: i32, inH: i32, inW: i32, channels: i32, x: usize, planes: usize, scale: usize, bias: usize, out: usize,
  kernelH: i32, kernelW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32,
  filters: i32, weightBits: i32, minCode: i32, activationBits: i32, inputScale: f32, inputClip: f32, pool: i32,
  outputScale: f32, outputClip: f32, outputMax: f32, scratch: usize,
): void {
  const h = inH / pool;
  const w = inW / pool;
  const channelBytes = (channels + 7) >> 3; // weight bytes per filter, plane and kernel position
  const positions = kernelH * kernelW;
  const digits = digitsOf(activationBits);
  const tableBytes = <usize>pixelTableBytes(channels, activationBits);
  const digitBytes = <usize>(channelBytes << 5); // one digit's tables of a pixel
  const blocks = (filters + 15) >> 4;
  const padded = <usize>(((channels + 31) >> 5) << 5);
  const tables = scratch;
  const zeroTable = tables + align16(<usize>(h * w) * tableBytes);
  const pixelSums = zeroTable + align16(tableBytes);
  const codes = pixelSums + align16(<usize>(h * w * 4));
  const pooled = codes + padded;
  const sums = pooled + padded * 4;
  const pointers = sums + <usize>(blocks << 6); // each kernel position's table, for one output
  memory.fill(zeroTable, 0, tableBytes);
  const maxCode = (1 << activationBits) - 1;
  // byte sums per flush: two table entries of at most 4·15 (or 4·maxCode) per weight byte
  const maxDigit = min(maxCode, 15);
  const rounds = 255 / (8 * maxDigit);
  const blockBytes = <usize>((weightBits * positions * channelBytes) << 4);
  const planeBytes = <usize>((positions * channelBytes) << 4);
  for (let img = 0; img < n; img++) {
    for (let p = 0; p < h * w; p++) {
      let src = x + <usize>((((img * inH + (p / w) * pool) * inW + (p % w) * pool) * channels) << 2);
      if (pool > 1) {
        poolPixel(src, inW * channels, channels, pool, pooled);
        src = pooled;
      }
      store<i32>(pixelSums + <usize>(p << 2), quantizePixel(src, channels, inputScale, inputClip, maxCode, codes));
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
          const block = planes + <usize>b * blockBytes;
          const blockSums = sums + <usize>(b << 6);
          for (let d = 0; d < digits; d++) {
            const digitOffset = <usize>d * digitBytes;
            // 2-bit weights: both bits in one pass, each table pair loaded once
            if (weightBits === 2) dot2(pointers, digitOffset, block, block + planeBytes, positions, channelBytes, rounds, 4 * d, blockSums);
            else for (let i = 0; i < weightBits; i++) dotPlane(pointers, digitOffset, block + <usize>i * planeBytes, positions, channelBytes, rounds, i + 4 * d, blockSums);
          }
        }
        epilogue(sums, minCode * sumV, scale, bias, filters, out + <usize>((((img * outH + oy) * outW + ox) * filters) << 2), outputScale, outputClip, outputMax);
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
