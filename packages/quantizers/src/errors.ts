const MARKER = Symbol.for('@srq/error');

/**
 * Base class of every error thrown by the `@srq/*` packages.
 *
 * `code` is a stable machine-readable identifier; `fields` carries the structured details the
 * message was built from (the offending field, its value, what is allowed). Use
 * {@link SrqError.isInstance} rather than `instanceof` to recognise errors across duplicated
 * package copies (e.g. an app that bundles two versions).
 *
 * @example
 * ```ts
 * try { new Quantizer({ bits: 9 }); }
 * catch (e) { if (SrqError.isInstance(e)) console.error(e.code, e.fields); }
 * ```
 */
export class SrqError extends Error {
  private readonly [MARKER] = true;
  /** Stable identifier such as `'QUANTIZER_CONFIG'`. */
  readonly code: string;
  /** Structured details (field, value, allowed, …). */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, fields: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.fields = fields;
  }

  /** True when `error` is an {@link SrqError} from any copy of the `@srq/*` packages. */
  static isInstance(error: unknown): error is SrqError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

/**
 * A configuration field holds a value outside what it supports. The one-line message names the
 * subject, the field, the value given and the allowed values; `fields` holds the same.
 * Each package subclasses it with its own `code`.
 */
export class ConfigError extends SrqError {
  constructor(code: string, subject: string, field: string, value: unknown, allowed: string) {
    super(code, `Invalid ${subject} config: ${field} = ${formatValue(value)}; allowed: ${allowed}.`, { field, value, allowed });
  }
}

/** A quantizer (or mask) was configured with a value outside what it supports. */
export class QuantizerConfigError extends ConfigError {
  constructor(field: string, value: unknown, allowed: string) {
    super('QUANTIZER_CONFIG', 'quantizer', field, value, allowed);
  }
}

/** The tensor handed to a quantizer is unusable (NaN with `debug` on, wrong rank for per-channel, …). */
export class QuantizerInputError extends SrqError {
  constructor(message: string, fields: Record<string, unknown> = {}) {
    super('QUANTIZER_INPUT', message, fields);
  }
}

/** Short, unambiguous rendering of a bad value for an error message. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
