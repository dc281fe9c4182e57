// The WebAssembly SIMD build of the fused srq kernel against the JavaScript reference `srqFused`
// of @srq/quantizers (f64): identical forward values and drop counts, derivatives within f32
// rounding, on both of its paths (four elements at a time in f32 SIMD; element by element in f64)
// and at their seams (tails, channel blocks, far outside the grid, wide cells).
import { mulberry32, srqFused, type SrqFusedAttrs } from '@srq/quantizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSrqWasm, runSrqFused, srqWasmLoaded } from './srq-wasm';

interface Case {
  name: string;
  n: number;
  grid: { bits: number; signed?: boolean; binary?: boolean };
  window?: number;
  channels?: number;
  inner?: number;
  drop?: number;
  dropP?: number;
  perElementDrops?: boolean;
  pick?: 'nearest' | 'sample' | 'full';
  /** σ/α */
  ratio?: number;
  /** Standard deviation of x relative to α. */
  spread?: number;
  /** Fraction of elements that are exactly 0 (ReLU outputs; some of them -0). */
  zeros?: number;
  /** Tolerance of the derivatives relative to their largest magnitude (default 2e-5). */
  tolerance?: number;
  /** The rq / rq-st baselines (Gumbel-softmax) instead of srq. */
  method?: 'rq' | 'rq-st';
  temperature?: number;
}

function attrsOf(c: Case): SrqFusedAttrs {
  const { bits, signed = true, binary = false } = c.grid;
  const minCode = binary ? -1 : signed ? -(2 ** (bits - 1)) : 0;
  const maxCode = binary ? 1 : signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const step = binary ? 2 : 1;
  const size = (maxCode - minCode) / step + 1;
  return {
    minCode, maxCode, step, bits,
    window: Math.min(c.window ?? 5, size),
    inner: c.inner ?? 1,
    drop: c.drop ?? 0,
    dropP: c.dropP ?? 0,
    seed: 1234,
    pick: c.pick ?? 'nearest',
    ...(c.method ? { method: c.method, temperature: c.temperature ?? 1, noiseSeed: 77 } : {}),
  };
}

function inputs(c: Case) {
  const rand = mulberry32(99);
  const channels = c.channels ?? 1;
  const alpha = Float32Array.from({ length: channels }, (_, k) => 0.05 + 0.03 * k);
  const ratio = Float32Array.from({ length: channels }, (_, k) => (c.ratio ?? 0.4) * (1 + 0.1 * k));
  const x = Float32Array.from({ length: c.n }, () => {
    const u = rand() + rand() + rand() - 1.5; // ~ N(0, 0.5)
    const v = u * 2 * (c.spread ?? 3) * 0.08;
    const w = rand();
    return c.zeros !== undefined && w < c.zeros ? (w < c.zeros / 8 ? -0 : 0) : c.zeros !== undefined ? Math.abs(v) : v;
  });
  const maxDrop = c.grid.binary ? 0 : c.grid.bits - 1;
  const drops = c.perElementDrops ? Int32Array.from({ length: c.n }, (_, i) => i % (maxDrop + 1)) : null;
  return { x, alpha, ratio, drops };
}

const CASES: Case[] = [
  { name: '2-bit unsigned, DropBits sampled (the LeNet-5 activations)', n: 4099, grid: { bits: 2, signed: false }, dropP: 0.05 },
  { name: '2-bit signed, no drops', n: 1000, grid: { bits: 2 } },
  { name: '2-bit unsigned, half the elements ±0 (ReLU), DropBits sampled', n: 4097, grid: { bits: 2, signed: false }, dropP: 0.3, zeros: 0.5 },
  { name: '8-bit unsigned, 90% zeros, per-element drops', n: 1003, grid: { bits: 8, signed: false }, zeros: 0.9, perElementDrops: true },
  { name: '4-bit signed, p = 0.3', n: 4001, grid: { bits: 4 }, dropP: 0.3 },
  { name: '8-bit unsigned, p = 0.5, window 3', n: 3002, grid: { bits: 8, signed: false }, dropP: 0.5, window: 3 },
  { name: '8-bit signed, whole grid (element by element)', n: 257, grid: { bits: 8 }, window: 256 },
  { name: '3-bit, per channel (channel axis last)', n: 4003, grid: { bits: 3 }, channels: 7 },
  { name: '3-bit, per channel blocks of 5 (channel axis first)', n: 7 * 5 * 3, grid: { bits: 3 }, channels: 7, inner: 5 },
  { name: '4-bit, per-element drops', n: 1001, grid: { bits: 4 }, perElementDrops: true },
  { name: '8-bit, 5 bits dropped everywhere', n: 1000, grid: { bits: 8 }, drop: 5 },
  { name: 'symmetric binary', n: 1001, grid: { bits: 1, binary: true } },
  { name: "4-bit, pick 'sample'", n: 2000, grid: { bits: 4 }, dropP: 0.4, pick: 'sample' },
  { name: "2-bit unsigned, pick 'full' (gradient-only DropBits), p = 0.3", n: 4001, grid: { bits: 2, signed: false }, dropP: 0.3, pick: 'full', zeros: 0.3 },
  { name: "4-bit signed, pick 'full', per-element drops", n: 2003, grid: { bits: 4 }, perElementDrops: true, pick: 'full' },
  { name: 'far outside the grid', n: 2000, grid: { bits: 2, signed: false }, spread: 400, ratio: 0.3 },
  // t up to ±(30 + W·Δ) ≈ ±280: f32's relative 6e-8 on t shows in ∂x̂/∂ρ
  { name: 'narrow cells (σ/α = 0.02: one exp per edge)', n: 2000, grid: { bits: 4 }, dropP: 0.3, ratio: 0.02, tolerance: 1e-4 },
  { name: 'wide cells (σ/α = 3)', n: 2000, grid: { bits: 3 }, ratio: 3 },
  { name: 'fewer than four elements', n: 3, grid: { bits: 2 }, dropP: 0.5 },
  { name: 'rq, 2-bit signed, λ = 1', n: 2001, grid: { bits: 2 }, method: 'rq', ratio: 0.1 },
  { name: 'rq, 8-bit unsigned, half zeros, λ = 0.5', n: 2001, grid: { bits: 8, signed: false }, zeros: 0.5, method: 'rq', temperature: 0.5 },
  { name: 'rq-st, 4-bit per channel, λ = 2', n: 2001, grid: { bits: 4 }, channels: 3, method: 'rq-st', temperature: 2 },
  // the converged grid's rq: 2-bit, σ/α = 0.02 (the window's cells span e^-200 in π), λ = 4
  { name: 'rq, 2-bit unsigned, half zeros, σ/α = 0.02, λ = 4', n: 8003, grid: { bits: 2, signed: false }, zeros: 0.5, method: 'rq', ratio: 0.02, temperature: 4 },
  { name: 'rq-st, 2-bit signed, per channel, λ = 4', n: 8003, grid: { bits: 2 }, channels: 5, method: 'rq-st', temperature: 4 },
  { name: 'rq, 3-bit, λ = 3', n: 1001, grid: { bits: 3 }, method: 'rq', temperature: 3 },
];

describe('the WebAssembly SIMD fused srq kernel equals the JavaScript reference', () => {
  beforeAll(async () => {
    expect(await loadSrqWasm()).toBe(true);
    expect(srqWasmLoaded()).toBe(true);
  });

  it.each(CASES)('$name', (c) => {
    const { x, alpha, ratio, drops } = inputs(c);
    const attrs = attrsOf(c);
    const ref = srqFused(x, alpha, ratio, drops, attrs);
    const got = runSrqFused(x, alpha, ratio, drops, attrs);
    if (c.method === 'rq') {
      // a soft sample: f32 polynomial logarithms and exponentials against f64 ones
      const worst = Math.max(...Array.from(ref.value, (v, i) => Math.abs(got.value[i]! - v)));
      expect(worst).toBeLessThan(1e-6);
    } else expect(Array.from(got.value)).toEqual(Array.from(ref.value));
    expect(Array.from(got.dropCounts)).toEqual(Array.from(ref.dropCounts));
    for (const key of ['dx', 'drho'] as const) {
      const scale = Math.max(1e-3, ...Array.from(ref[key], Math.abs));
      let worst = 0;
      for (let i = 0; i < c.n; i++) worst = Math.max(worst, Math.abs(got[key][i]! - ref[key][i]!) / scale);
      expect(worst, key).toBeLessThan(c.tolerance ?? 2e-5);
    }
    expect(ref.dx.some((v) => Math.abs(v) > 1e-3)).toBe(true); // a real gradient, not all zeros
  });

  it('reuses its memory across calls of different sizes', () => {
    const big = CASES[0]!;
    const small = CASES[1]!;
    for (const c of [big, small, { ...big, n: 50_000 }, small]) {
      const { x, alpha, ratio, drops } = inputs(c);
      const got = runSrqFused(x, alpha, ratio, drops, attrsOf(c));
      expect(Array.from(got.value)).toEqual(Array.from(srqFused(x, alpha, ratio, drops, attrsOf(c)).value));
    }
  });
});
