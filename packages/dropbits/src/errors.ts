import { ConfigError } from '@srq/quantizers';

/** DropBits, BitGates or a bit budget was configured (or used) with a value outside what it supports. */
export class DropBitsConfigError extends ConfigError {
  constructor(field: string, value: unknown, allowed: string) {
    super('DROPBITS_CONFIG', 'DropBits', field, value, allowed);
  }
}

/** Throws a {@link DropBitsConfigError} unless `ok`. */
export function check(ok: boolean, field: string, value: unknown, allowed: string): void {
  if (!ok) throw new DropBitsConfigError(field, value, allowed);
}

/** Throws unless every key of `config` is one of `known`. */
export function checkKnownFields(config: object, known: readonly string[]): void {
  for (const [key, value] of Object.entries(config)) check(known.includes(key), key, value, `one of the fields ${known.join(', ')}`);
}
