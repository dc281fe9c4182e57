// AssemblyScript source of the integer convolution of packed models (WebAssembly SIMD), compiled by
// `asc` (scripts/build-wasm.mjs) and embedded in src/generated/. The same computation as `intConv2d`
// in @srq/quantizers (packages/quantizers/src/integer-conv.ts), the readable reference that the
// tests compare this against (specification §10). Table lookups, 16 filters at a time: each input
// pixel (max-pooled first when a pool is fused) is quantized once and its codes turned into tables — for every 4 channels, the 16 sums of
// their codes selected by each 4-bit pattern — and every weight plane byte of 16 filters picks
// two such sums with i8x16.swizzle. Two outputs at a time (the next position, or the same
// position of the next image) share each weight vector's load and nibble split. Byte sums widen
// into u16 lanes, then i32. The integer sums are exact; then one scale multiply and the
// bias (and, fused, the next ReLU and activation quantizer). Also `convQuantize`: the float first
// layer (its input is not on a grid) with its ReLU, quantizer and 2×2 max-pool fused; its
// reference is `convQuantize` in packages/quantizers/src/conv-quantize.ts. And
// `intDepthwiseConv2d` (reference: packages/quantizers/src/integer-depthwise.ts).
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
  return 2 * align16(<usize>(h * w) * table) + align16(table) + 2 * align16(<usize>(h * w * 4)) + padded + padded * 4 + 2 * <usize>(((filters + 15) & ~15) * 4) + 256 + 2 * <usize>(positions * 4);
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

/** Byte sums (each ≤ 255) a u16 accumulator takes before it is spilled to the i32 sums. */
const WIDE: i32 = 257;

/** Adds the u16 lanes of `lo` and `hi` (16 filters), times 2^shift, to the four i32x4 sums at `sums`. */
@inline function spill(lo: v128, hi: v128, shift: i32, sums: usize): void {
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
 * bits in one pass, bit 1 weighted 2, digit `shift` bits up. Bytes accumulate `rounds` lookups,
 * then u16 lanes up to WIDE byte sums, then the i32 sums.
 */
function dot2(pointers: usize, digitOffset: usize, plane0: usize, plane1: usize, positions: i32, channelBytes: i32, rounds: i32, shift: i32, sums: usize): void {
  const lowNibble = i8x16.splat(15);
  const zero = i8x16.splat(0);
  let t0 = zero;
  let t1 = zero;
  let a0 = zero;
  let b0 = zero;
  let a1 = zero;
  let b1 = zero;
  let count = 0;
  let wide = 0;
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
        a0 = i16x8.add(a0, i16x8.extend_low_i8x16_u(t0));
        b0 = i16x8.add(b0, i16x8.extend_high_i8x16_u(t0));
        a1 = i16x8.add(a1, i16x8.extend_low_i8x16_u(t1));
        b1 = i16x8.add(b1, i16x8.extend_high_i8x16_u(t1));
        t0 = zero;
        t1 = zero;
        count = 0;
        if (++wide === WIDE) {
          spill(a0, b0, shift, sums);
          spill(a1, b1, shift + 1, sums);
          a0 = zero;
          b0 = zero;
          a1 = zero;
          b1 = zero;
          wide = 0;
        }
      }
    }
  }
  spill(i16x8.add(a0, i16x8.extend_low_i8x16_u(t0)), i16x8.add(b0, i16x8.extend_high_i8x16_u(t0)), shift, sums);
  spill(i16x8.add(a1, i16x8.extend_low_i8x16_u(t1)), i16x8.add(b1, i16x8.extend_high_i8x16_u(t1)), shift + 1, sums);
}

/** Adds the bytes of `t` (16 filters) to the u16 accumulator pair at `acc`. */
@inline function widen(t: v128, acc: usize): void {
  v128.store(acc, i16x8.add(v128.load(acc), i16x8.extend_low_i8x16_u(t)));
  v128.store(acc + 16, i16x8.add(v128.load(acc + 16), i16x8.extend_high_i8x16_u(t)));
}

/**
 * {@link dot2} for two output positions at once (`pointersA`, `pointersB`), each weight vector
 * loaded and split once for both. u16 accumulators at `acc` (128 bytes, zeroed here).
 */
function dot2Pair(pointersA: usize, pointersB: usize, digitOffset: usize, plane0: usize, plane1: usize, positions: i32, channelBytes: i32, rounds: i32, shift: i32, sumsA: usize, sumsB: usize, acc: usize): void {
  const lowNibble = i8x16.splat(15);
  const zero = i8x16.splat(0);
  memory.fill(acc, 0, 128);
  let a0 = zero;
  let a1 = zero;
  let b0 = zero;
  let b1 = zero;
  let count = 0;
  let wide = 0;
  let w = <usize>0;
  for (let s = 0; s < positions; s++) {
    const tableA = <usize>load<u32>(pointersA + <usize>(s << 2)) + digitOffset;
    const tableB = <usize>load<u32>(pointersB + <usize>(s << 2)) + digitOffset;
    for (let q = 0; q < channelBytes; q++, w += 16) {
      const w0 = v128.load(plane0 + w);
      const w1 = v128.load(plane1 + w);
      const l0 = v128.and(w0, lowNibble);
      const h0 = v128.and(i16x8.shr_u(w0, 4), lowNibble);
      const l1 = v128.and(w1, lowNibble);
      const h1 = v128.and(i16x8.shr_u(w1, 4), lowNibble);
      const at = <usize>(q << 5);
      const loA = v128.load(tableA + at);
      const hiA = v128.load(tableA + at + 16);
      a0 = i8x16.add(a0, i8x16.add(i8x16.swizzle(loA, l0), i8x16.swizzle(hiA, h0)));
      a1 = i8x16.add(a1, i8x16.add(i8x16.swizzle(loA, l1), i8x16.swizzle(hiA, h1)));
      const loB = v128.load(tableB + at);
      const hiB = v128.load(tableB + at + 16);
      b0 = i8x16.add(b0, i8x16.add(i8x16.swizzle(loB, l0), i8x16.swizzle(hiB, h0)));
      b1 = i8x16.add(b1, i8x16.add(i8x16.swizzle(loB, l1), i8x16.swizzle(hiB, h1)));
      if (++count === rounds) {
        widen(a0, acc);
        widen(a1, acc + 32);
        widen(b0, acc + 64);
        widen(b1, acc + 96);
        a0 = zero;
        a1 = zero;
        b0 = zero;
        b1 = zero;
        count = 0;
        if (++wide === WIDE) {
          spill(v128.load(acc), v128.load(acc + 16), shift, sumsA);
          spill(v128.load(acc + 32), v128.load(acc + 48), shift + 1, sumsA);
          spill(v128.load(acc + 64), v128.load(acc + 80), shift, sumsB);
          spill(v128.load(acc + 96), v128.load(acc + 112), shift + 1, sumsB);
          memory.fill(acc, 0, 128);
          wide = 0;
        }
      }
    }
  }
  widen(a0, acc);
  widen(a1, acc + 32);
  widen(b0, acc + 64);
  widen(b1, acc + 96);
  spill(v128.load(acc), v128.load(acc + 16), shift, sumsA);
  spill(v128.load(acc + 32), v128.load(acc + 48), shift + 1, sumsA);
  spill(v128.load(acc + 64), v128.load(acc + 80), shift, sumsB);
  spill(v128.load(acc + 96), v128.load(acc + 112), shift + 1, sumsB);
}

/**
 * {@link dotPlane} for two output positions at once (`pointersA`, `pointersB`), each weight vector
 * loaded and split once for both. u16 accumulators at `acc` (64 bytes, zeroed here).
 */
function dotPlanePair(pointersA: usize, pointersB: usize, digitOffset: usize, plane: usize, positions: i32, channelBytes: i32, rounds: i32, shift: i32, sumsA: usize, sumsB: usize, acc: usize): void {
  const lowNibble = i8x16.splat(15);
  const zero = i8x16.splat(0);
  memory.fill(acc, 0, 64);
  let a = zero;
  let b = zero;
  let count = 0;
  let wide = 0;
  let w = <usize>0;
  for (let s = 0; s < positions; s++) {
    const tableA = <usize>load<u32>(pointersA + <usize>(s << 2)) + digitOffset;
    const tableB = <usize>load<u32>(pointersB + <usize>(s << 2)) + digitOffset;
    for (let q = 0; q < channelBytes; q++, w += 16) {
      const wq = v128.load(plane + w);
      const low = v128.and(wq, lowNibble);
      const high = v128.and(i16x8.shr_u(wq, 4), lowNibble);
      const at = <usize>(q << 5);
      a = i8x16.add(a, lookup(tableA + at, low, high));
      b = i8x16.add(b, lookup(tableB + at, low, high));
      if (++count === rounds) {
        widen(a, acc);
        widen(b, acc + 32);
        a = zero;
        b = zero;
        count = 0;
        if (++wide === WIDE) {
          spill(v128.load(acc), v128.load(acc + 16), shift, sumsA);
          spill(v128.load(acc + 32), v128.load(acc + 48), shift, sumsB);
          memory.fill(acc, 0, 64);
          wide = 0;
        }
      }
    }
  }
  widen(a, acc);
  widen(b, acc + 32);
  spill(v128.load(acc), v128.load(acc + 16), shift, sumsA);
  spill(v128.load(acc + 32), v128.load(acc + 48), shift, sumsB);
}

/**
 * The sums of one block of 16 filters over one output position's tables (`pointers`,
 * `digitOffset` into each) for one weight bit's plane at `plane`, `shift` bits up (bit + 4·digit).
 */
function dotPlane(pointers: usize, digitOffset: usize, plane: usize, positions: i32, channelBytes: i32, rounds: i32, shift: i32, sums: usize): void {
  const lowNibble = i8x16.splat(15);
  const zero = i8x16.splat(0);
  let t = zero;
  let a = zero;
  let b = zero;
  let count = 0;
  let wide = 0;
  let w = <usize>0;
  for (let s = 0; s < positions; s++) {
    const table = <usize>load<u32>(pointers + <usize>(s << 2)) + digitOffset;
    for (let q = 0; q < channelBytes; q++, w += 16) {
      const wq = v128.load(plane + w);
      t = i8x16.add(t, lookup(table + <usize>(q << 5), v128.and(wq, lowNibble), v128.and(i16x8.shr_u(wq, 4), lowNibble)));
      if (++count === rounds) {
        a = i16x8.add(a, i16x8.extend_low_i8x16_u(t));
        b = i16x8.add(b, i16x8.extend_high_i8x16_u(t));
        t = zero;
        count = 0;
        if (++wide === WIDE) {
          spill(a, b, shift, sums);
          a = zero;
          b = zero;
          wide = 0;
        }
      }
    }
  }
  spill(i16x8.add(a, i16x8.extend_low_i8x16_u(t)), i16x8.add(b, i16x8.extend_high_i8x16_u(t)), shift, sums);
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
 * Fills `pointers` with output `o`'s table per kernel position (of a pair of images: o / outputs
 * is the image; the zero table outside the input) and returns the sum of its codes.
 */
@inline function receptiveField(o: i32, outputs: i32, outW: i32, kernelH: i32, kernelW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, h: i32, w: i32, allTables: usize, imageTables: usize, tableBytes: usize, zeroTable: usize, allSums: usize, imageSums: usize, pointers: usize): i32 {
  const image = o / outputs;
  const tables = allTables + <usize>image * imageTables;
  const pixelSums = allSums + <usize>image * imageSums;
  const oy = (o % outputs) / outW;
  const ox = (o % outputs) % outW;
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
  return sumV;
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
  // two images' tables and code sums at a time
  const imageTables = align16(<usize>(h * w) * tableBytes);
  const imageSums = align16(<usize>(h * w * 4));
  const tables = scratch;
  const zeroTable = tables + 2 * imageTables;
  const pixelSums = zeroTable + align16(tableBytes);
  const codes = pixelSums + 2 * imageSums;
  const pooled = codes + padded;
  const sums = pooled + padded * 4;
  const pointers = sums + <usize>(blocks << 7); // each kernel position's table, for one output
  const pointers2 = pointers + <usize>(positions << 2); // and for the next output
  const acc16 = align16(pointers2 + <usize>(positions << 2));
  memory.fill(zeroTable, 0, tableBytes);
  const maxCode = (1 << activationBits) - 1;
  // byte sums per flush: two table entries of at most 4·15 (or 4·maxCode) per weight byte
  const maxDigit = min(maxCode, 15);
  const rounds = 255 / (8 * maxDigit);
  const blockBytes = <usize>((weightBits * positions * channelBytes) << 4);
  const planeBytes = <usize>((positions * channelBytes) << 4);
  const outputs = outH * outW;
  // two outputs at a time (the next position, or the next image's) share each weight vector's load and split
  for (let img = 0; img < n; img += 2) {
    const images = min(2, n - img);
    for (let k = 0; k < images; k++) {
      for (let p = 0; p < h * w; p++) {
        let src = x + <usize>(((((img + k) * inH + (p / w) * pool) * inW + (p % w) * pool) * channels) << 2);
        if (pool > 1) {
          poolPixel(src, inW * channels, channels, pool, pooled);
          src = pooled;
        }
        store<i32>(pixelSums + <usize>k * imageSums + <usize>(p << 2), quantizePixel(src, channels, inputScale, inputClip, maxCode, codes));
        pixelTables(codes, channels, activationBits, tables + <usize>k * imageTables + <usize>p * tableBytes);
      }
    }
    for (let o = 0; o < images * outputs; o += 2) {
      const both = o + 1 < images * outputs;
      const sumV = receptiveField(o, outputs, outW, kernelH, kernelW, strideH, strideW, padTop, padLeft, h, w, tables, imageTables, tableBytes, zeroTable, pixelSums, imageSums, pointers);
      const sumV2 = both ? receptiveField(o + 1, outputs, outW, kernelH, kernelW, strideH, strideW, padTop, padLeft, h, w, tables, imageTables, tableBytes, zeroTable, pixelSums, imageSums, pointers2) : 0;
      memory.fill(sums, 0, <usize>(blocks << 7));
      for (let b = 0; b < blocks; b++) {
        const block = planes + <usize>b * blockBytes;
        const blockSums = sums + <usize>(b << 6);
        for (let d = 0; d < digits; d++) {
          const digitOffset = <usize>d * digitBytes;
          const sums2 = blockSums + <usize>(blocks << 6);
          // 2-bit weights: both bits in one pass, each table pair loaded once
          if (both && weightBits === 2) dot2Pair(pointers, pointers2, digitOffset, block, block + planeBytes, positions, channelBytes, rounds, 4 * d, blockSums, sums2, acc16);
          else if (both) for (let i = 0; i < weightBits; i++) dotPlanePair(pointers, pointers2, digitOffset, block + <usize>i * planeBytes, positions, channelBytes, rounds, i + 4 * d, blockSums, sums2, acc16);
          else if (weightBits === 2) dot2(pointers, digitOffset, block, block + planeBytes, positions, channelBytes, rounds, 4 * d, blockSums);
          else for (let i = 0; i < weightBits; i++) dotPlane(pointers, digitOffset, block + <usize>i * planeBytes, positions, channelBytes, rounds, i + 4 * d, blockSums);
        }
      }
      const at = out + <usize>(((img * outputs + o) * filters) << 2);
      epilogue(sums, minCode * sumV, scale, bias, filters, at, outputScale, outputClip, outputMax);
      if (both) epilogue(sums + <usize>(blocks << 6), minCode * sumV2, scale, bias, filters, at + <usize>(filters << 2), outputScale, outputClip, outputMax);
    }
  }
}

/** Bytes of scratch for {@link intDepthwiseConv2d}: an image's codes (h·w pixels, 32-byte-padded channels) and one pixel's sums. */
export function depthwiseScratchBytes(h: i32, w: i32, channels: i32): usize {
  return align16(<usize>(h * w) * <usize>(((channels + 31) >> 5) << 5)) + <usize>(((channels + 7) & ~7) * 4);
}

/**
 * The integer depthwise convolution (depth multiplier 1) of `n` NHWC images at `x` (float32):
 * each image quantized once to codes (α `inputScale`, after a ReLU clipped at `inputClip`), each
 * channel's Σ k·v over its window, 8 channels at a time (`weights`: per tap, int16 codes of the
 * channels padded to 8), then the {@link epilogue}. Writes `[n, outH, outW, channels]` float32.
 */
export function intDepthwiseConv2d(
  n: i32, h: i32, w: i32, channels: i32, x: usize, weights: usize, scale: usize, bias: usize, out: usize,
  kernelH: i32, kernelW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32,
  activationBits: i32, inputScale: f32, inputClip: f32, outputScale: f32, outputClip: f32, outputMax: f32, scratch: usize,
): void {
  const pixelBytes = <usize>(((channels + 31) >> 5) << 5);
  const cp = (channels + 7) & ~7;
  const codes = scratch;
  const sums = codes + align16(<usize>(h * w) * pixelBytes);
  const maxCode = (1 << activationBits) - 1;
  for (let img = 0; img < n; img++) {
    for (let p = 0; p < h * w; p++) quantizePixel(x + <usize>(((img * h * w + p) * channels) << 2), channels, inputScale, inputClip, maxCode, codes + <usize>p * pixelBytes);
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let c = 0; c < cp; c += 8) {
          let lo = i32x4.splat(0);
          let hi = i32x4.splat(0);
          for (let ky = 0; ky < kernelH; ky++) {
            const iy = oy * strideH + ky - padTop;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kernelW; kx++) {
              const ix = ox * strideW + kx - padLeft;
              if (ix < 0 || ix >= w) continue;
              const v = v128.load8x8_u(codes + <usize>(iy * w + ix) * pixelBytes + <usize>c);
              const k = v128.load(weights + <usize>(((ky * kernelW + kx) * cp + c) << 1));
              lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, k));
              hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, k));
            }
          }
          v128.store(sums + <usize>(c << 2), lo);
          v128.store(sums + <usize>(c << 2) + 16, hi);
        }
        epilogue(sums, 0, scale, bias, channels, out + <usize>((((img * outH + oy) * outW + ox) * channels) << 2), outputScale, outputClip, outputMax);
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

/**
 * Bytes of scratch for {@link convQuantize}: the zero-padded image ((outH−1)·strideH + kernelH rows,
 * likewise columns), the tap offsets, one tile's sums and four output pixels.
 */
export function convQuantizeScratchBytes(outH: i32, outW: i32, strideH: i32, strideW: i32, kernelH: i32, kernelW: i32, channels: i32, filters: i32): usize {
  const hp = (outH - 1) * strideH + kernelH;
  const wp = (outW - 1) * strideW + kernelW;
  return align16(<usize>(hp * wp * channels * 4)) + align16(<usize>(kernelH * kernelW * channels * 4)) + 128 + <usize>(((filters + 7) & ~7) * 16);
}

/**
 * 4 conv positions (pixels at byte offsets p0..p3 of the padded image) × 8 filters (block `w`,
 * [taps][8] f32): the sums Σ x·w over the `taps` tap offsets, 8 vectors to `acc`
 * (position-major, two per position).
 */
@inline function tile4(p0: usize, p1: usize, p2: usize, p3: usize, w: usize, taps: i32, offsets: usize, acc: usize): void {
  let a0 = f32x4.splat(0); let b0 = a0; let a1 = a0; let b1 = a0; let a2 = a0; let b2 = a0; let a3 = a0; let b3 = a0;
  for (let k = 0; k < taps; k++) {
    const o = <usize>load<i32>(offsets + <usize>(k << 2));
    const wa = v128.load(w + <usize>(k << 5));
    const wb = v128.load(w + <usize>(k << 5) + 16);
    const x0 = v128.load32_splat(p0 + o);
    const x1 = v128.load32_splat(p1 + o);
    const x2 = v128.load32_splat(p2 + o);
    const x3 = v128.load32_splat(p3 + o);
    a0 = f32x4.add(a0, f32x4.mul(x0, wa)); b0 = f32x4.add(b0, f32x4.mul(x0, wb));
    a1 = f32x4.add(a1, f32x4.mul(x1, wa)); b1 = f32x4.add(b1, f32x4.mul(x1, wb));
    a2 = f32x4.add(a2, f32x4.mul(x2, wa)); b2 = f32x4.add(b2, f32x4.mul(x2, wb));
    a3 = f32x4.add(a3, f32x4.mul(x3, wa)); b3 = f32x4.add(b3, f32x4.mul(x3, wb));
  }
  v128.store(acc, a0); v128.store(acc + 16, b0); v128.store(acc + 32, a1); v128.store(acc + 48, b1);
  v128.store(acc + 64, a2); v128.store(acc + 80, b2); v128.store(acc + 96, a3); v128.store(acc + 112, b3);
}

/** ReLU clipped at `clip`, then the unsigned quantizer (α, maxCode), of 4 floats: α·min(round(min(max(y, 0), clip)/α), maxCode). */
@inline function quantize4(y: v128, clip: v128, alpha: v128, top: v128): v128 {
  return f32x4.mul(f32x4.min(f32x4.nearest(f32x4.div(f32x4.min(f32x4.max(y, f32x4.splat(0)), clip), alpha)), top), alpha);
}

/**
 * A float convolution whose output a ReLU, an unsigned activation quantizer and (pool 2) a 2×2
 * max-pool read — the first layer of a packed model, which reads float inputs: conv + bias, max
 * over each pool window, quantized; writes `[n, outH/pool, outW/pool, filters]` float32 at `out`.
 * `weights`: blocks of 8 filters, [taps = kh·kw·channels][8] f32 (zero-padded filters); `bias`
 * padded to the blocks.
 */
export function convQuantize(
  n: i32, inH: i32, inW: i32, channels: i32, x: usize, weights: usize, bias: usize, out: usize,
  kernelH: i32, kernelW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32,
  filters: i32, pool: i32, alpha: f32, clip: f32, maxCode: f32, scratch: usize,
): void {
  const hp = (outH - 1) * strideH + kernelH;
  const wp = (outW - 1) * strideW + kernelW;
  const taps = kernelH * kernelW * channels;
  const blocks = (filters + 7) >> 3;
  const image = scratch;
  const offsets = image + align16(<usize>(hp * wp * channels * 4));
  const acc = offsets + align16(<usize>(taps * 4));
  const pixel = acc + 128;
  let k = 0;
  for (let ky = 0; ky < kernelH; ky++)
    for (let kx = 0; kx < kernelW; kx++)
      for (let c = 0; c < channels; c++) store<i32>(offsets + <usize>((k++) << 2), ((ky * wp + kx) * channels + c) << 2);
  const clip4 = f32x4.splat(clip);
  const alpha4 = f32x4.splat(alpha);
  const top4 = f32x4.splat(maxCode);
  const ph = outH / pool;
  const pw = outW / pool;
  const rowBytes = <usize>((wp * channels) << 2);
  const colBytes = <usize>(channels << 2);
  const blockBytes = <usize>(taps << 5);
  for (let img = 0; img < n; img++) {
    // the image, zero-padded to hp×wp
    memory.fill(image, 0, <usize>(hp * wp * channels * 4));
    for (let y = 0; y < inH; y++) {
      const py = y + padTop;
      if (py < 0 || py >= hp) continue;
      const x0 = max(0, -padLeft);
      const x1 = min(inW, wp - padLeft);
      if (x1 > x0) memory.copy(image + <usize>py * rowBytes + <usize>((x0 + padLeft) * channels * 4), x + <usize>((((img * inH + y) * inW + x0) * channels) << 2), <usize>((x1 - x0) * channels * 4));
    }
    const outImage = out + <usize>(img * ph * pw * filters * 4);
    if (pool === 2) {
      for (let oy = 0; oy < ph; oy++) {
        for (let ox = 0; ox < pw; ox++) {
          const p0 = image + <usize>(oy * 2 * strideH) * rowBytes + <usize>(ox * 2 * strideW) * colBytes;
          const p1 = p0 + <usize>strideW * colBytes;
          const p2 = p0 + <usize>strideH * rowBytes;
          const p3 = p2 + <usize>strideW * colBytes;
          for (let b = 0; b < blocks; b++) {
            tile4(p0, p1, p2, p3, weights + <usize>b * blockBytes, taps, offsets, acc);
            const ma = f32x4.max(f32x4.max(v128.load(acc), v128.load(acc + 32)), f32x4.max(v128.load(acc + 64), v128.load(acc + 96)));
            const mb = f32x4.max(f32x4.max(v128.load(acc + 16), v128.load(acc + 48)), f32x4.max(v128.load(acc + 80), v128.load(acc + 112)));
            v128.store(pixel + <usize>(b << 5), quantize4(f32x4.add(ma, v128.load(bias + <usize>(b << 5))), clip4, alpha4, top4));
            v128.store(pixel + <usize>(b << 5) + 16, quantize4(f32x4.add(mb, v128.load(bias + <usize>(b << 5) + 16)), clip4, alpha4, top4));
          }
          memory.copy(outImage + <usize>(((oy * pw + ox) * filters) << 2), pixel, <usize>(filters << 2));
        }
      }
    } else {
      // pool 1: four neighbouring outputs of a row per tile, the row's tail one at a time (the same tile, repeated)
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox += 4) {
          const row = image + <usize>(oy * strideH) * rowBytes;
          const step = <usize>strideW * colBytes;
          const p0 = row + <usize>ox * step;
          const p1 = row + <usize>min(ox + 1, outW - 1) * step;
          const p2 = row + <usize>min(ox + 2, outW - 1) * step;
          const p3 = row + <usize>min(ox + 3, outW - 1) * step;
          for (let b = 0; b < blocks; b++) {
            tile4(p0, p1, p2, p3, weights + <usize>b * blockBytes, taps, offsets, acc);
            for (let q = 0; q < 4; q++) {
              v128.store(pixel + <usize>(q * blocks * 32 + (b << 5)), quantize4(f32x4.add(v128.load(acc + <usize>(q << 5)), v128.load(bias + <usize>(b << 5))), clip4, alpha4, top4));
              v128.store(pixel + <usize>(q * blocks * 32 + (b << 5)) + 16, quantize4(f32x4.add(v128.load(acc + <usize>(q << 5) + 16), v128.load(bias + <usize>(b << 5) + 16)), clip4, alpha4, top4));
            }
          }
          for (let q = 0; q < 4 && ox + q < outW; q++) memory.copy(outImage + <usize>(((oy * outW + ox + q) * filters) << 2), pixel + <usize>(q * blocks * 32), <usize>(filters << 2));
        }
      }
    }
  }
}
