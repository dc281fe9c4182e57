// AssemblyScript source of the fused `srq` quantizer kernel, compiled to WebAssembly by `asc`
// (scripts/build-wasm.mjs) and embedded in src/generated/. The same computation as `srqFused` in
// @srq/quantizers (packages/quantizers/src/fused-srq.ts), which stays the readable reference and
// is what the tests compare this against: nearest kept code forward, per-element ∂x̂/∂x and
// ∂x̂/∂ρ of the multi-class straight-through backward over the local window (specification §2–4);
// for the rq / rq-st baselines the Gumbel-softmax sample over the same window.
//
// Memory: the caller places every array above `heapBase()` and passes byte offsets; nothing is
// allocated here. The window's scratch arrays live at `scratch` (5·(window+1) f64).

/** First byte the caller may use. */
export function heapBase(): usize {
  return __heap_base;
}

// mulberry32, as `mulberry32` in @srq/quantizers: element i draws with state seed + (i+1)·GOLDEN
const GOLDEN: u32 = 0x6d2b79f5;
let rngState: u32 = 0;

function hash(a: u32): u32 {
  let t = a;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return t ^ (t >>> 14);
}

function rand(): f64 {
  rngState += GOLDEN;
  return <f64>hash(rngState) / 4294967296.0;
}

// the Exponential(1) noise of rq / rq-st, as `exponentialStream` in @srq/quantizers
let noiseState: u32 = 0;
const TINY: f64 = 1e-7;

function exponential(): f64 {
  noiseState += GOLDEN;
  return -Math.log(min(max(<f64>hash(noiseState) / 4294967296.0, TINY), 1 - TINY));
}

/** The same hash on four consecutive states. */
function hash4(a: v128): v128 {
  let t = a;
  t = i32x4.mul(v128.xor(t, i32x4.shr_u(t, 15)), v128.or(t, i32x4.splat(1)));
  t = v128.xor(t, i32x4.add(t, i32x4.mul(v128.xor(t, i32x4.shr_u(t, 7)), v128.or(t, i32x4.splat(61)))));
  return v128.xor(t, i32x4.shr_u(t, 14));
}

// e^x for four f32, x clamped to [-87, 87]: 2^k · (degree-6 Taylor polynomial of e^f), |f| ≤ ln2/2.
// k by the 1.5·2^23 trick: adding it leaves k in the low mantissa bits (no float-to-int conversion)
const ROUNDER: f32 = 12582912.0;
const ROUNDER_BITS: i32 = 0x4b400000;
function exp4(v: v128): v128 {
  const x = f32x4.max(f32x4.min(v, f32x4.splat(87)), f32x4.splat(-87));
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504)), f32x4.splat(ROUNDER));
  const k = f32x4.sub(shifted, f32x4.splat(ROUNDER));
  let f = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693359375)));
  f = f32x4.sub(f, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.0 / 720);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 120));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 24));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 6));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1));
  // the bits of `shifted` minus those of ROUNDER are k; + 127 makes 2^k's exponent field
  const scale = i32x4.shl(i32x4.add(i32x4.sub(shifted, i32x4.splat(ROUNDER_BITS)), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** 2^(±d) for four integer d in [0, 126]: the exponent field. */
function pow2(d: v128, sign: i32): v128 {
  return i32x4.shl(i32x4.add(sign > 0 ? d : i32x4.neg(d), i32x4.splat(127)), 23);
}

// ln x for four positive normal f32: x = 2^k·m with m in [√½, √2), ln m = 2·atanh(s) with
// s = (m - 1)/(m + 1), |s| ≤ 0.172, by its series to s^9 (the next term is below 2e-9 relative)
function log4(x: v128): v128 {
  const one = f32x4.splat(1);
  const bits = i32x4.sub(x, i32x4.splat(0x3f3504f3)); // k counted from √½: m = x / 2^k in [√½, √2)
  const k = i32x4.shr_s(bits, 23);
  const m = i32x4.sub(x, i32x4.shl(k, 23));
  const s = f32x4.div(f32x4.sub(m, one), f32x4.add(m, one));
  const s2 = f32x4.mul(s, s);
  let p = f32x4.splat(1.0 / 9);
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(1.0 / 7));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(1.0 / 5));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(1.0 / 3));
  p = f32x4.add(f32x4.mul(p, s2), one);
  const kf = f32x4.convert_i32x4_s(k);
  const lnM = f32x4.mul(f32x4.mul(s, f32x4.splat(2)), p);
  return f32x4.add(f32x4.add(f32x4.mul(kf, f32x4.splat(0.693359375)), lnM), f32x4.mul(kf, f32x4.splat(-2.12194440e-4)));
}

/**
 * The rq noise `E = -log u` of four hashed states (u = h / 2^32 kept inside [TINY, 1 - TINY], as
 * `exponential()`). For u > ½ from m = 1 - u, which the integers give exactly, as -log(1 - m) with
 * the rounding of w = 1 - m corrected (log(w)·m/(1 - w)): full f32 precision near u = 1.
 */
function exponential4(h: v128): v128 {
  const scale = f32x4.splat(2.3283064365386963e-10); // 2^-32
  const tiny = f32x4.splat(<f32>TINY);
  const one = f32x4.splat(1);
  const u = f32x4.max(f32x4.mul(f32x4.convert_i32x4_u(h), scale), tiny);
  const m = f32x4.max(f32x4.mul(f32x4.convert_i32x4_u(i32x4.neg(h)), scale), tiny);
  const w = f32x4.sub(one, m);
  const nearOne = f32x4.gt(u, f32x4.splat(0.5));
  const l = log4(v128.bitselect(w, u, nearOne));
  return f32x4.neg(v128.bitselect(f32x4.div(f32x4.mul(l, m), f32x4.sub(one, w)), l, nearOne));
}

// Far outside the window the cell probabilities tend to a fixed limit; x is moved to at most this
// many σ/α beyond the window's outer edges before they are computed, so that f32 cannot overflow
// (the change is below e^-30 relative). As FAR in @srq/quantizers' srqFused.
const FAR: f32 = 30;

// The arrays and layout of the running srqFused call, shared by its passes.
let gN: i32 = 0;
let gX: usize = 0;
let gAlpha: usize = 0;
let gRatio: usize = 0;
let gChannels: i32 = 1;
let gInner: i32 = 1;
let gDrops: usize = 0;
let gDrop: i32 = 0;
let gValue: usize = 0;
let gDx: usize = 0;
let gDrho: usize = 0;

/**
 * Runs the fused pass over `n` elements. Arrays (byte offsets): x, alpha and ratio (f32, one per
 * channel block), drops (i32 per element, or 0 for none), value, dx and drho (f32 outputs),
 * counts (f32, one per number of dropped bits), scratch (work space of `scratchBytes(window, bits,
 * channels)`). `pick`: 0 the nearest kept code, 1 `'sample'`, 2 `'full'` (the nearest code of the
 * whole grid). `relax`: 0 srq, 1 rq, 2 rq-st (Gumbel-softmax at temperature 1/kappa, noise from
 * `noiseSeed`). srq with the `'nearest'` or `'full'` pick, and rq / rq-st, on grids with step 1 run four
 * elements at a time in f32 SIMD (logarithms and exponentials by polynomials); the rest (and the
 * last n mod 4 elements) element by element in f64.
 */
export function srqFused(
  n: i32,
  x: usize,
  alpha: usize,
  ratio: usize,
  channels: i32,
  inner: i32,
  drops: usize,
  drop: i32,
  dropP: f64,
  seed: u32,
  minCode: f64,
  maxCode: f64,
  step: f64,
  bits: i32,
  window: i32,
  pick: i32,
  relax: i32,
  kappa: f64,
  noiseSeed: u32,
  value: usize,
  dx: usize,
  drho: usize,
  counts: usize,
  scratch: usize,
): void {
  gN = n;
  gPickFull = pick == 2;
  gRelax = relax;
  gKappa = kappa;
  gNoiseBase = noiseSeed ^ 0x5bd1e995;
  gNoiseWindow = window;
  gX = x;
  gAlpha = alpha;
  gRatio = ratio;
  gChannels = channels;
  gInner = inner;
  gDrops = drops;
  gDrop = drop;
  gValue = value;
  gDx = dx;
  gDrho = drho;
  const maxDrop: i32 = step != 1.0 ? 0 : bits - 1;
  const nThresholds: i32 = dropP > 0 ? maxDrop : 0;
  // scratch: thresholds (u32 ·2^32 and f64), per-d tables, SIMD counters, window arrays
  const thresholdsU = scratch;
  const thresholdsF = thresholdsU + 64;
  let pj = 1.0;
  for (let j = 0; j < nThresholds; j++) {
    pj *= dropP;
    const v = 1 - pj; // as dropThresholds in @srq/quantizers
    store<f64>(thresholdsF + (<usize>j << 3), v);
    store<u32>(thresholdsU + (<usize>j << 2), <u32>Math.floor(v * 4294967296.0));
  }
  const counters = thresholdsF + 64; // i32x4 per d
  for (let d = 0; d < bits; d++) v128.store(counters + (<usize>d << 4), i32x4.splat(0));
  const work = counters + (<usize>bits << 4);
  const gridSize = <i32>((maxCode - minCode) / step) + 1;
  const wg = min(window, gridSize);
  let i = 0;
  if (step == 1.0 && pick != 1 && wg <= 16) {
    i = simdPass(nThresholds, thresholdsU, seed, <f32>minCode, <f32>maxCode, maxDrop, wg, counters, work);
  }
  for (let d = 0; d < bits; d++) {
    const v = v128.load(counters + (<usize>d << 4));
    const total = i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
    store<f32>(counts + (<usize>d << 2), <f32>total);
  }
  rngState = seed + <u32>i * GOLDEN;
  noiseState = gNoiseBase + <u32>i * <u32>window * GOLDEN;
  scalarPass(i, nThresholds, thresholdsF, minCode, maxCode, step, bits, window, pick == 1, counts, work);
}

/** Bytes of scratch `srqFused` needs. */
export function scratchBytes(window: i32, bits: i32, channels: i32): usize {
  return 128 + (<usize>bits << 4) + 224 + (<usize>(min(window, 256) + 2) * 5 << 4) + (<usize>(channels * bits + 2 * bits) << 3) + 64;
}

// pick 'full' (gradient-only DropBits): the forward is the nearest code of the whole grid (set by srqFused)
let gPickFull: bool = false;

// rq / rq-st (set by srqFused)
let gRelax: i32 = 0;
let gKappa: f64 = 1;
let gNoiseBase: u32 = 0;
let gNoiseWindow: i32 = 0; // noise values drawn per element (the window before it is cut to the grid)

// State of the SIMD pass shared by its helpers (set by simdPass).
let gMinCode: f32 = 0;
let gMaxCode: f32 = 0;
let gWg: i32 = 0;
let gWork: usize = 0;
let gOut: usize = 0; // three v128: value, dx, drho of the last core() call

/**
 * x̂, ∂x̂/∂x and ∂x̂/∂ρ for four elements (f32 SIMD), given their dropped bits and their channels'
 * α and σ/α (and for rq / rq-st the noise states of their first window point); written to gOut.
 */
function core(x4: v128, d4: v128, a4: v128, e4: v128, noise0: v128): void {
  const half = f32x4.splat(0.5);
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const far = f32x4.splat(FAR);
  const wg = gWg;
  const wgV = f32x4.splat(<f32>wg);
  const tA = gWork;
  const spA = tA + (<usize>(wg + 1) << 4);
  const snA = spA + (<usize>(wg + 1) << 4);
  const s = pow2(d4, 1);
  const invS = pow2(d4, -1);
  const lo = f32x4.ceil(f32x4.mul(f32x4.splat(gMinCode), invS));
  const hi = f32x4.floor(f32x4.mul(f32x4.splat(gMaxCode), invS));
  const r = f32x4.div(x4, a4);
  const rJ = f32x4.mul(r, invS);
  const kStar = gPickFull
    ? f32x4.min(f32x4.splat(gMaxCode), f32x4.max(f32x4.splat(gMinCode), f32x4.nearest(r)))
    : f32x4.mul(s, f32x4.min(hi, f32x4.max(lo, f32x4.nearest(rJ))));
  v128.store(gOut, f32x4.mul(a4, kStar));
  // the window: the sub-grid points nearest to x, shifted inwards at the ends
  const size = f32x4.min(wgV, f32x4.add(f32x4.sub(hi, lo), one));
  const startJ = f32x4.min(f32x4.max(f32x4.nearest(f32x4.sub(rJ, f32x4.mul(f32x4.sub(size, one), half))), lo), f32x4.add(f32x4.sub(hi, size), one));
  const edge0 = f32x4.mul(s, f32x4.sub(startJ, half));
  const edgeN = f32x4.add(edge0, f32x4.mul(s, size));
  const invE = f32x4.div(one, e4);
  const rc = f32x4.min(f32x4.max(r, f32x4.sub(edge0, f32x4.mul(far, e4))), f32x4.add(edgeN, f32x4.mul(far, e4)));
  const u0 = f32x4.sub(edge0, rc);
  // exp(-t_j): when every t_j is within ±87 (Δ·W small), exp(-t_0)·exp(-Δ)^j (two exps);
  // otherwise one exp per edge
  const t0 = f32x4.mul(u0, invE);
  const delta = f32x4.mul(s, invE);
  const recur = !v128.any_true(f32x4.gt(f32x4.mul(delta, wgV), f32x4.splat(55)));
  let E = exp4(f32x4.neg(t0));
  const ratioE = recur ? exp4(f32x4.neg(delta)) : zero;
  for (let j = 0; j <= wg; j++) {
    const t = f32x4.mul(f32x4.add(u0, f32x4.mul(f32x4.splat(<f32>j), s)), invE);
    if (j > 0) E = recur ? f32x4.mul(E, ratioE) : exp4(f32x4.neg(t));
    const sp = f32x4.div(one, f32x4.add(one, E));
    const q = <usize>j << 4;
    v128.store(tA + q, t);
    v128.store(spA + q, sp);
    v128.store(snA + q, f32x4.mul(E, sp));
  }
  // π_w ∝ Sigmoid(t_(w+1))·Sigmoid(-t_w) on the lanes' own window sizes; mean in index units
  const piA = snA + (<usize>(wg + 1) << 4);
  let z = zero;
  let m = zero;
  for (let w = 0; w < wg; w++) {
    const q = <usize>w << 4;
    const wv = f32x4.splat(<f32>w);
    const pi = v128.and(f32x4.mul(v128.load(spA + q + 16), v128.load(snA + q)), f32x4.lt(wv, size));
    v128.store(piA + q, pi);
    z = f32x4.add(z, pi);
    m = f32x4.add(m, f32x4.mul(pi, wv));
  }
  let invZ = f32x4.div(one, z);
  m = f32x4.mul(m, invZ);
  const kappa = f32x4.splat(<f32>gKappa);
  if (gRelax) {
    // rq / rq-st: the concrete sample z = softmax(κ·(log π - log E)) (as the scalar pass), in logs:
    // log π_w = logSigmoid(t_(w+1)) + logSigmoid(-t_w) (+ a constant), with logSigmoid(t) =
    // min(t, 0) - log(1 + e^-|t|) and logSigmoid(-t) = logSigmoid(t) - t, so that no cell is lost to
    // f32's range (σ/α = 0.02 puts the window's edges 50 apart: π spans e^-200, and κ < 1 brings
    // such cells back). E from the element's noise states noise0 + w·GOLDEN.
    const lsA = piA + (<usize>(wg + 1) << 4);
    for (let j = 0; j <= wg; j++) {
      const q = <usize>j << 4;
      const t = v128.load(tA + q);
      const tail = log4(f32x4.add(one, exp4(f32x4.neg(f32x4.abs(t)))));
      v128.store(lsA + q, f32x4.sub(f32x4.min(t, zero), tail));
    }
    let top = f32x4.splat(-Infinity);
    for (let w = 0; w < wg; w++) {
      const q = <usize>w << 4;
      const logPi = f32x4.add(v128.load(lsA + q + 16), f32x4.sub(v128.load(lsA + q), v128.load(tA + q)));
      const logE = log4(exponential4(hash4(i32x4.add(noise0, i32x4.splat(<u32>w * GOLDEN)))));
      const v = v128.bitselect(f32x4.mul(kappa, f32x4.sub(logPi, logE)), f32x4.splat(-Infinity), f32x4.lt(f32x4.splat(<f32>w), size));
      v128.store(piA + q, v);
      top = f32x4.max(top, v);
    }
    let sum = zero;
    for (let w = 0; w < wg; w++) {
      const q = <usize>w << 4;
      const v = v128.and(exp4(f32x4.sub(v128.load(piA + q), top)), f32x4.lt(f32x4.splat(<f32>w), size));
      v128.store(piA + q, v);
      sum = f32x4.add(sum, v);
    }
    invZ = f32x4.div(one, sum);
    m = zero;
    let best = zero;
    let most = f32x4.splat(-1);
    for (let w = 0; w < wg; w++) {
      const q = <usize>w << 4;
      const wv = f32x4.splat(<f32>w);
      const p = v128.load(piA + q);
      m = f32x4.add(m, f32x4.mul(p, wv));
      const better = f32x4.gt(p, most);
      most = v128.bitselect(p, most, better);
      best = v128.bitselect(wv, best, better);
    }
    m = f32x4.mul(m, invZ);
    v128.store(gOut, f32x4.mul(a4, f32x4.mul(s, f32x4.add(startJ, gRelax == 1 ? m : best))));
  }
  let sx = zero;
  let sr = zero;
  for (let w = 0; w < wg; w++) {
    const q = <usize>w << 4;
    const wv = f32x4.splat(<f32>w);
    const wd = f32x4.mul(f32x4.mul(v128.load(piA + q), invZ), f32x4.mul(s, f32x4.sub(wv, m)));
    const snB = v128.load(snA + q + 16);
    const spAw = v128.load(spA + q);
    // Sigmoid(-B) - Sigmoid(A) and Sigmoid(-B)·B - Sigmoid(A)·A
    sx = f32x4.add(sx, f32x4.mul(wd, f32x4.sub(snB, spAw)));
    sr = f32x4.add(sr, f32x4.mul(wd, f32x4.sub(f32x4.mul(snB, v128.load(tA + q + 16)), f32x4.mul(spAw, v128.load(tA + q)))));
  }
  if (gRelax) {
    sx = f32x4.mul(sx, kappa);
    sr = f32x4.mul(sr, kappa);
  }
  v128.store(gOut + 16, f32x4.neg(f32x4.mul(sx, invE)));
  v128.store(gOut + 32, f32x4.neg(f32x4.mul(a4, sr)));
}

function simdPass(
  nThresholds: i32,
  thresholdsU: usize,
  seed: u32,
  minCode: f32,
  maxCode: f32,
  maxDrop: i32,
  wg: i32,
  counters: usize,
  work: usize,
): i32 {
  gMinCode = minCode;
  gMaxCode = maxCode;
  gWg = wg;
  gOut = work;
  const zeroTable = work + 48; // ∂x̂/∂x then ∂x̂/∂ρ at x = 0, per d (8 f32 each)
  const queue = zeroTable + 64; // up to four non-zero elements: x, d, index (four lanes each)
  const lanes = queue + 48; // the d of the current four
  const channelLanes = lanes + 16; // their α, then their σ/α (per-channel quantizers)
  gWork = channelLanes + 32;
  const laneStates = i32x4(1 * GOLDEN, 2 * GOLDEN, 3 * GOLDEN, 4 * GOLDEN);
  // channel of element i, kept incrementally: block position `rem` in 0..inner-1
  let c = 0;
  let rem = 0;
  let a4 = f32x4.splat(load<f32>(gAlpha));
  let e4 = f32x4.splat(load<f32>(gRatio));
  // per tensor, elements equal to 0 (ReLU's zeros: half an activation tensor and more) take
  // their outputs from a table per d (srq: no noise); the others are computed four at a time
  const skipZeros = gChannels == 1 && gRelax == 0;
  // rq / rq-st: element i's window point w draws its noise from state noiseBase + (i·W + w + 1)·GOLDEN
  const noiseStride = <u32>gNoiseWindow * GOLDEN;
  const noiseLanes = i32x4(0, noiseStride, 2 * noiseStride, 3 * noiseStride);
  if (skipZeros) {
    for (let half = 0; half < 2; half++) {
      core(f32x4.splat(0), i32x4.add(i32x4(0, 1, 2, 3), i32x4.splat(half * 4)), a4, e4, i32x4.splat(0));
      v128.store(zeroTable + (<usize>half << 4), v128.load(gOut + 16));
      v128.store(zeroTable + 32 + (<usize>half << 4), v128.load(gOut + 32));
    }
  }
  let queued = 0;
  const end = gN & ~3;
  let i = 0;
  for (; i < end; i += 4) {
    if (gChannels > 1) {
      for (let l = 0; l < 4; l++) {
        store<f32>(channelLanes + (<usize>l << 2), load<f32>(gAlpha + (<usize>c << 2)));
        store<f32>(channelLanes + 16 + (<usize>l << 2), load<f32>(gRatio + (<usize>c << 2)));
        if (++rem == gInner) {
          rem = 0;
          if (++c == gChannels) c = 0;
        }
      }
      a4 = v128.load(channelLanes);
      e4 = v128.load(channelLanes + 16);
    }
    const o = <usize>i << 2;
    let d4: v128;
    if (gDrops) d4 = v128.load(gDrops + o);
    else if (nThresholds > 0) {
      const h = hash4(i32x4.add(i32x4.splat(seed + <u32>i * GOLDEN), laneStates));
      d4 = i32x4.splat(0);
      for (let j = 0; j < nThresholds; j++) d4 = i32x4.sub(d4, i32x4.gt_u(h, i32x4.splat(load<u32>(thresholdsU + (<usize>j << 2)))));
    } else d4 = i32x4.splat(gDrop);
    for (let d = 0; d <= maxDrop; d++) {
      const p = counters + (<usize>d << 4);
      v128.store(p, i32x4.sub(v128.load(p), i32x4.eq(d4, i32x4.splat(d))));
    }
    const x4 = v128.load(gX + o);
    const noise0 = i32x4.add(i32x4.splat(gNoiseBase + (<u32>i * <u32>gNoiseWindow + 1) * GOLDEN), noiseLanes);
    if (!skipZeros || !v128.any_true(f32x4.eq(x4, f32x4.splat(0)))) {
      core(x4, d4, a4, e4, noise0);
      v128.store(gValue + o, v128.load(gOut));
      v128.store(gDx + o, v128.load(gOut + 16));
      v128.store(gDrho + o, v128.load(gOut + 32));
      continue;
    }
    v128.store(lanes, d4);
    for (let l = 0; l < 4; l++) {
      const at = <usize>(i + l) << 2;
      const xv = load<f32>(gX + at);
      const d = load<i32>(lanes + (<usize>l << 2));
      if (xv == 0) {
        store<f32>(gValue + at, gMinCode < 0 ? xv : 0); // α·clamp(±0, lo, hi): -0 stays -0 only when lo < 0
        store<f32>(gDx + at, load<f32>(zeroTable + (<usize>d << 2)));
        store<f32>(gDrho + at, load<f32>(zeroTable + 32 + (<usize>d << 2)));
        continue;
      }
      const qa = <usize>queued << 2;
      store<f32>(queue + qa, xv);
      store<i32>(queue + 16 + qa, d);
      store<i32>(queue + 32 + qa, i + l);
      if (++queued == 4) {
        flushQueue(queue, 4, a4, e4, gValue, gDx, gDrho);
        queued = 0;
      }
    }
  }
  if (queued > 0) flushQueue(queue, queued, a4, e4, gValue, gDx, gDrho);
  return i;
}

/** Computes the `count` (≤ 4) queued elements (x, d, index: four lanes each) together and writes their outputs back. */
function flushQueue(queue: usize, count: i32, a4: v128, e4: v128, value: usize, dx: usize, drho: usize): void {
  core(v128.load(queue), v128.load(queue + 16), a4, e4, i32x4.splat(0)); // lanes past `count` hold earlier, finite values
  for (let l = 0; l < count; l++) {
    const k = <usize>l << 2;
    const at = <usize>load<i32>(queue + 32 + k) << 2;
    store<f32>(value + at, load<f32>(gOut + k));
    store<f32>(dx + at, load<f32>(gOut + 16 + k));
    store<f32>(drho + at, load<f32>(gOut + 32 + k));
  }
}

function scalarPass(
  from: i32,
  nThresholds: i32,
  thresholdsF: usize,
  minCode: f64,
  maxCode: f64,
  step: f64,
  bits: i32,
  window: i32,
  pickSample: bool,
  counts: usize,
  scratch: usize,
): void {
  const binary = step != 1.0;
  const maxDrop: i32 = binary ? 0 : bits - 1;
  const stride: usize = <usize>(window + 1) << 3;
  const tA = scratch;
  const spA = tA + stride;
  const snA = spA + stride;
  const piA = snA + stride;
  const noiseA = piA + stride;
  // per number of dropped bits d: the sub-grid's index range [lo, hi] (codes s·J), and per channel
  // and d: q = exp(-Δ), Δ = spacing/e (the ratio of consecutive exp(-t_j))
  const tables = noiseA + stride; // lo (f64), hi (f64), then q per channel·(maxDrop + 1)
  for (let d = 0; d <= maxDrop; d++) {
    const s = <f64>(1 << d);
    store<f64>(tables + (<usize>d << 4), binary ? 0.0 : Math.ceil(minCode / s));
    store<f64>(tables + (<usize>d << 4) + 8, binary ? 1.0 : Math.floor(maxCode / s));
  }
  const qTable = tables + (<usize>(maxDrop + 1) << 4);
  for (let c = 0; c < gChannels; c++) {
    const e = <f64>load<f32>(gRatio + (<usize>c << 2));
    for (let d = 0; d <= maxDrop; d++) {
      store<f64>(qTable + (<usize>(c * (maxDrop + 1) + d) << 3), Math.exp(-(step * <f64>(1 << d)) / e));
    }
  }

  for (let i = from; i < gN; i++) {
    const c: i32 = gChannels == 1 ? 0 : (i / gInner) % gChannels;
    const af = load<f32>(gAlpha + (<usize>c << 2));
    const a = <f64>af;
    const e = <f64>load<f32>(gRatio + (<usize>c << 2));
    let d: i32 = gDrops ? load<i32>(gDrops + (<usize>i << 2)) : gDrop;
    if (nThresholds > 0) {
      const u = rand();
      d = 0;
      while (d < nThresholds && u > load<f64>(thresholdsF + (<usize>d << 3))) d++;
    }
    if (gRelax) for (let w = 0; w < window; w++) store<f64>(noiseA + (<usize>w << 3), exponential());
    const cp = counts + (<usize>d << 2);
    store<f32>(cp, load<f32>(cp) + 1);
    const s = <f64>(1 << d);
    const r = <f64>(load<f32>(gX + (<usize>i << 2)) / af);
    const lo = load<f64>(tables + (<usize>d << 4));
    const hi = load<f64>(tables + (<usize>d << 4) + 8);
    const rJ = binary ? (r - minCode) / step : r / s;
    let kStar = binary ? min(1.0, max(-1.0, 2 * Math.floor(r / 2) + 1)) : s * min(hi, max(lo, nearest(rJ)));
    if (gPickFull && !binary) kStar = min(maxCode, max(minCode, nearest(r)));
    // the window: the W sub-grid points nearest to x, shifted inwards at the ends
    const size: i32 = min(window, <i32>(hi - lo) + 1);
    const start = min(max(nearest(rJ - <f64>(size - 1) / 2), lo), hi - <f64>size + 1);
    const spacing = step * s;
    const first = binary ? minCode + step * start : s * start;
    const invE = 1 / e;
    const delta = spacing * invE;
    const rc = min(max(r, first - spacing / 2 - <f64>FAR * e), first + spacing * (<f64>size - 0.5) + <f64>FAR * e);
    const t0 = (first - spacing / 2 - rc) * invE;
    const q = load<f64>(qTable + (<usize>(c * (maxDrop + 1) + d) << 3));
    let E = Math.exp(-t0);
    for (let j = 0; j <= size; j++) {
      const o = <usize>j << 3;
      store<f64>(tA + o, t0 + <f64>j * delta);
      if (E == Infinity) {
        store<f64>(spA + o, 0);
        store<f64>(snA + o, 1);
      } else {
        const inv = 1 / (1 + E);
        store<f64>(spA + o, inv);
        store<f64>(snA + o, E * inv);
      }
      E *= q;
    }
    // π_w ∝ Sigmoid(B_w)·Sigmoid(-A_w), A_w = t_w, B_w = t_(w+1)
    let z = 0.0;
    for (let w = 0; w < size; w++) {
      const o = <usize>w << 3;
      const p = load<f64>(spA + o + 8) * load<f64>(snA + o);
      store<f64>(piA + o, p);
      z += p;
    }
    const out = <usize>i << 2;
    if (!(z > 1e-300)) {
      // so far outside the grid that every cell probability underflows: a point mass
      store<f32>(gValue + out, <f32>(a * kStar));
      store<f32>(gDx + out, 0);
      store<f32>(gDrho + out, 0);
      continue;
    }
    const invZ = 1 / z;
    let mean = 0.0;
    for (let w = 0; w < size; w++) {
      const o = <usize>w << 3;
      const p = load<f64>(piA + o) * invZ;
      store<f64>(piA + o, p);
      mean += p * (first + spacing * <f64>w);
    }
    let outValue = a * kStar;
    if (gRelax) {
      // rq / rq-st: the concrete sample z ∝ (π/E)^κ replaces π on the soft path (as srqFused)
      let sum = 0.0;
      if (gKappa == 1) {
        for (let w = 0; w < size; w++) {
          const o = <usize>w << 3;
          const v = load<f64>(piA + o) / load<f64>(noiseA + o);
          store<f64>(piA + o, v);
          sum += v;
        }
      } else {
        let top = -Infinity;
        for (let w = 0; w < size; w++) {
          const o = <usize>w << 3;
          const v = (Math.log(load<f64>(piA + o)) - Math.log(load<f64>(noiseA + o))) * gKappa;
          store<f64>(piA + o, v);
          top = max(top, v);
        }
        for (let w = 0; w < size; w++) {
          const o = <usize>w << 3;
          const v = Math.exp(load<f64>(piA + o) - top);
          store<f64>(piA + o, v);
          sum += v;
        }
      }
      mean = 0;
      let best = 0;
      let bestP = -1.0;
      for (let w = 0; w < size; w++) {
        const o = <usize>w << 3;
        const p = load<f64>(piA + o) / sum;
        store<f64>(piA + o, p);
        mean += p * (first + spacing * <f64>w);
        if (p > bestP) {
          best = w;
          bestP = p;
        }
      }
      outValue = a * (gRelax == 1 ? mean : first + spacing * <f64>best);
    } else if (pickSample && s > 1) {
      const below = Math.floor(rJ);
      const lower = s * min(hi, max(lo, below));
      const upper = s * min(hi, max(lo, below + 1));
      let pl = 0.0;
      let pu = 0.0;
      for (let w = 0; w < size; w++) {
        const code = first + spacing * <f64>w;
        const p = load<f64>(piA + (<usize>w << 3));
        if (code == lower) pl += p;
        if (code == upper) pu += p;
      }
      kStar = rand() * (pl + pu) < pu ? upper : lower;
      outValue = a * kStar;
    }
    let sx = 0.0;
    let sr = 0.0;
    for (let w = 0; w < size; w++) {
      const o = <usize>w << 3;
      const wd = load<f64>(piA + o) * (first + spacing * <f64>w - mean);
      const snB = load<f64>(snA + o + 8);
      const spA_ = load<f64>(spA + o);
      // Sigmoid(-B) - Sigmoid(A) and Sigmoid(-B)·B - Sigmoid(A)·A
      sx += wd * (snB - spA_);
      sr += wd * (snB * load<f64>(tA + o + 8) - spA_ * load<f64>(tA + o));
    }
    store<f32>(gValue + out, <f32>outValue);
    store<f32>(gDx + out, <f32>(-gKappa * sx * invE));
    store<f32>(gDrho + out, <f32>(-gKappa * a * sr));
  }
}
