import type { ResolvedQuantizerConfig } from './config';
import type { Grid } from './grid';

/** Quantile q of |x| (nearest rank, on a sorted copy). */
export function absQuantile(values: Float32Array, q: number): number {
  if (values.length === 0) return 0;
  const a = Float32Array.from(values, Math.abs).sort();
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1))]!;
}

function stats(values: Float32Array): { std: number; meanAbs: number; maxAbs: number } {
  let sum = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    sumAbs += Math.abs(v);
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const n = Math.max(values.length, 1);
  const mean = sum / n;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { std: Math.sqrt(sq / n), meanAbs: sumAbs / n, maxAbs };
}

/**
 * Data-driven initial step α for one channel (specification §1, our choices):
 * `'std'` → `3·std(x)/2^(b-1)`; `'quantile'` → `q0.99(|x|)/k_max` (largest |code|);
 * `'mean-abs'` → `mean(|x|)`; with `initMax` (a bounded function's range), `initMax/k_max`. A degenerate result (0, NaN: an all-zero or constant sample)
 * falls back to `max|x|/k_max`, then to 1.
 */
export function initialAlpha(values: Float32Array, config: ResolvedQuantizerConfig, grid: Grid): number {
  const { std, meanAbs, maxAbs } = stats(values);
  const kMax = Math.max(Math.abs(grid.minCode), Math.abs(grid.maxCode));
  let alpha: number;
  if (config.initMax !== null) return config.initMax / kMax;
  switch (config.init) {
    case 'std':
      alpha = (3 * std) / 2 ** (grid.bits - 1);
      break;
    case 'quantile':
      alpha = absQuantile(values, 0.99) / kMax;
      break;
    case 'mean-abs':
      alpha = meanAbs;
      break;
  }
  if (!(alpha > 0) || !Number.isFinite(alpha)) alpha = maxAbs / kMax;
  if (!(alpha > 0) || !Number.isFinite(alpha)) alpha = 1;
  return alpha;
}
