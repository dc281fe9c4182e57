import { InvalidArgumentError } from 'commander';

/** Commander parser for an integer flag within [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got "${value}".`);
    return n;
  };
}

/**
 * Commander parser for a number flag in an interval: `[min, max]` by default, `(min, max)` with
 * `'open'`, `[min, max)` with `'below'`.
 */
export function num(min: number, max = Infinity, bounds: 'closed' | 'open' | 'below' = 'closed') {
  const interval = `${bounds === 'open' ? '(' : '['}${min}, ${max}${bounds === 'closed' ? ']' : ')'}`;
  return (value: string): number => {
    const n = Number(value);
    const ok = value.trim() !== '' && !Number.isNaN(n) && (bounds === 'open' ? n > min : n >= min) && (bounds === 'closed' ? n <= max : n < max);
    if (!ok) throw new InvalidArgumentError(`expected a number in ${interval}, got "${value}".`);
    return n;
  };
}
