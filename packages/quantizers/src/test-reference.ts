// Float64 reference of specification §1–3, written straight from the formulas (direct sigmoid
// differences, explicit window search), for the unit tests. Not part of the package.
import type { Grid } from './grid';
import { mulberry32 as rng } from './random';

export { rng };

export const sigmoid = (t: number): number => 1 / (1 + Math.exp(-t));

/** The `size` kept codes nearest to r (kept: level ≥ drop and weight > 0), ascending. */
export function referenceWindow(grid: Grid, r: number, size: number, drop = 0): number[] {
  const kept = grid.keptCodes(drop);
  return kept
    .map((k) => ({ k, d: Math.abs(k - r) }))
    .sort((a, b) => a.d - b.d || a.k - b.k)
    .slice(0, size)
    .map((e) => e.k)
    .sort((a, b) => a - b);
}

/** P(a < ε < b) for standard logistic ε: `Sigmoid(b) - Sigmoid(a)`, taken on the side where it does not cancel. */
export function cellMass(a: number, b: number): number {
  return a > 0 ? sigmoid(-a) - sigmoid(-b) : sigmoid(b) - sigmoid(a);
}

/**
 * Cell probabilities over `codes` (spacing `spacing` code units): the direct formula
 * `π_i ∝ m_i·(Sigmoid((α(k_i + s/2) - x)/σ) - Sigmoid((α(k_i - s/2) - x)/σ))`, renormalised.
 */
export function referenceProbs(
  x: number,
  alpha: number,
  sigma: number,
  codes: number[],
  spacing = 1,
  weights: number[] = codes.map(() => 1),
): number[] {
  const p = codes.map(
    (k, i) => weights[i]! * cellMass((alpha * (k - spacing / 2) - x) / sigma, (alpha * (k + spacing / 2) - x) / sigma),
  );
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / z);
}

export function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((a) => Math.exp(a - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((a) => a / s);
}

/** Central finite difference of a scalar function. */
export function fd(f: (t: number) => number, t: number, h = 1e-5): number {
  return (f(t + h) - f(t - h)) / (2 * h);
}

/** Normal samples for reproducible test inputs. */
export function normals(n: number, seed: number, scale = 1): Float32Array {
  const u = rng(seed);
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}
