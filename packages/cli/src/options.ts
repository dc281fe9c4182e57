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

/** Commander parser for a comma-separated list, each item parsed by `item`; duplicates refused. */
export function list<T>(item: (value: string) => T) {
  return (value: string): T[] => {
    const parts = value.split(',').map((v) => v.trim());
    if (parts.some((p) => p === '')) throw new InvalidArgumentError(`expected a comma-separated list, got "${value}".`);
    const items = parts.map(item);
    if (new Set(items.map((v) => JSON.stringify(v))).size !== items.length) throw new InvalidArgumentError(`"${value}" lists an item twice.`);
    return items;
  };
}

/** Commander parser for one of `choices`. */
export function choice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    return value as T;
  };
}
