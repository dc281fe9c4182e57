import { QuantizerConfigError } from './errors';

/** Quantization methods (specification §3). */
export const QUANTIZER_METHODS = ['ste', 'rq', 'rq-st', 'srq'] as const;
/** One of {@link QUANTIZER_METHODS}. */
export type QuantizerMethod = (typeof QUANTIZER_METHODS)[number];

/** How α is initialised from the first tensor the quantizer sees (specification §1). */
export const INIT_METHODS = ['std', 'quantile', 'mean-abs'] as const;
/** One of {@link INIT_METHODS}. */
export type InitMethod = (typeof INIT_METHODS)[number];

/**
 * Configuration of a {@link Quantizer}. Everything but `bits` has a default; the resolved form
 * (see {@link resolveQuantizerConfig}) is plain JSON, so it can be stored in a model file.
 */
export interface QuantizerConfig {
  /** Bit-width b, an integer in 1..8. */
  bits: number;
  /**
   * Signed grid `k ∈ [-2^(b-1), 2^(b-1)-1]` (weights, the default) or unsigned `k ∈ [0, 2^b-1]`
   * (activations after ReLU).
   */
  signed?: boolean;
  /** `'srq'` (default), `'rq'`, `'rq-st'` or `'ste'`. */
  method?: QuantizerMethod;
  /** Gumbel-softmax temperature λ of `rq` / `rq-st`; > 0. Default 1. */
  temperature?: number;
  /**
   * Number of grid points in the local window that carries the categorical distribution
   * (RQ §2.2): the `window` grid points nearest to x. Integer ≥ 2, default 5; the whole grid when
   * the grid is smaller. Compute and memory are O(N·window), independent of the bits.
   */
  window?: number;
  /** One α and σ per channel along `channelAxis` instead of one per tensor. Default false. */
  perChannel?: boolean;
  /** Channel axis for `perChannel`; default -1 (the output axis of tfjs Dense and Conv2D kernels). */
  channelAxis?: number;
  /** Only with `bits: 1, signed: true`: the grid {-α, +α} instead of {-α, 0}. */
  symmetricBinary?: boolean;
  /**
   * Data-driven init of α: `'std'` → `3·std(x)/2^(b-1)`; `'quantile'` → `q0.99(|x|)/k_max`;
   * `'mean-abs'` → `mean(|x|)` (the optimal binary scale). Default: `'std'` for signed grids,
   * `'quantile'` for unsigned ones, `'mean-abs'` for the symmetric binary grid.
   */
  init?: InitMethod;
  /**
   * The largest value the tensor can take, where a function bounds it (ReLU6: 6; sigmoid: 1): α is
   * initialised to `initMax / k_max`, the grid spanning exactly that range, instead of from data
   * (`init`). Default null (from data).
   */
  initMax?: number | null;
  /** σ/α at init (specification §2: 1/3). σ is learned as log(σ/α). */
  sigmaInit?: number;
  /**
   * Train σ (as ρ = log(σ/α)) or keep σ/α at `sigmaInit`, σ following α (false). In `srq` σ only
   * shapes the backward pass (the forward is the nearest grid point), so nothing in the loss pins
   * it: learned, it drifts low and starves the gradient (specification §3). Default: false for
   * `srq`, true for `rq` and `rq-st` (whose forward sample σ shapes); `ste` has no σ.
   */
  learnSigma?: boolean;
  /** Seed of the Gumbel noise of `rq` / `rq-st` (advanced on every training call). Default 0. */
  seed?: number;
  /** Check inputs for NaN on every call (costs a device read). Default false. */
  debug?: boolean;
  /** Prefix of the variable names. Default `'quantizer'`. */
  name?: string;
}

/** A {@link QuantizerConfig} with every default filled in. */
export type ResolvedQuantizerConfig = Required<QuantizerConfig>;

/** Default number of grid points in the local window (our choice: ±2 around the nearest point). */
export const DEFAULT_WINDOW = 5;

/**
 * Whether a method learns σ when `learnSigma` is not given: `rq` and `rq-st`, whose forward sample
 * σ shapes; not `srq`, where learned σ drifts (specification §3); `ste` has none.
 */
export function defaultLearnSigma(method: QuantizerMethod): boolean {
  return method === 'rq' || method === 'rq-st';
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function check(ok: boolean, field: string, value: unknown, allowed: string): void {
  if (!ok) throw new QuantizerConfigError(field, value, allowed);
}

/**
 * Validates a quantizer configuration and fills in the defaults.
 *
 * @param config - the user's configuration
 * @returns the complete configuration
 * @throws {@link QuantizerConfigError} naming the first bad field, its value and what is allowed
 * @example
 * ```ts
 * resolveQuantizerConfig({ bits: 2 }).method; // 'srq'
 * ```
 */
export function resolveQuantizerConfig(config: QuantizerConfig): ResolvedQuantizerConfig {
  if (typeof config !== 'object' || config === null) {
    throw new QuantizerConfigError('config', config, 'an object such as { bits: 2 }');
  }
  const c = config as unknown as Record<string, unknown>;
  const known = new Set([
    'bits', 'signed', 'method', 'temperature', 'window', 'perChannel', 'channelAxis',
    'symmetricBinary', 'init', 'initMax', 'sigmaInit', 'learnSigma', 'seed', 'debug', 'name',
  ]);
  for (const key of Object.keys(c)) {
    check(known.has(key), key, c[key], `one of the fields ${[...known].join(', ')}`);
  }
  check(isInt(c.bits) && (c.bits as number) >= 1 && (c.bits as number) <= 8, 'bits', c.bits, 'an integer from 1 to 8');
  const bool = (field: string) => check(c[field] === undefined || typeof c[field] === 'boolean', field, c[field], 'true or false');
  bool('signed');
  bool('perChannel');
  bool('symmetricBinary');
  bool('debug');
  bool('learnSigma');
  check(
    c.method === undefined || (QUANTIZER_METHODS as readonly unknown[]).includes(c.method),
    'method', c.method, QUANTIZER_METHODS.map((m) => `'${m}'`).join(', '),
  );
  check(
    c.temperature === undefined || (typeof c.temperature === 'number' && Number.isFinite(c.temperature) && c.temperature > 0),
    'temperature', c.temperature, 'a finite number > 0',
  );
  check(
    c.window === undefined || c.window === Infinity || (isInt(c.window) && c.window >= 2),
    'window', c.window, 'an integer ≥ 2 (grid points in the local window) or Infinity (whole grid)',
  );
  check(c.channelAxis === undefined || isInt(c.channelAxis), 'channelAxis', c.channelAxis, 'an integer axis (negative counts from the end)');
  check(
    c.init === undefined || (INIT_METHODS as readonly unknown[]).includes(c.init),
    'init', c.init, INIT_METHODS.map((m) => `'${m}'`).join(', '),
  );
  check(
    c.sigmaInit === undefined || (typeof c.sigmaInit === 'number' && Number.isFinite(c.sigmaInit) && c.sigmaInit > 0),
    'sigmaInit', c.sigmaInit, 'a finite number > 0 (σ/α at init)',
  );
  check(c.initMax == null || (typeof c.initMax === 'number' && Number.isFinite(c.initMax) && c.initMax > 0), 'initMax', c.initMax, 'null or a finite number > 0');
  check(c.seed === undefined || isInt(c.seed), 'seed', c.seed, 'an integer');
  check(c.name === undefined || (typeof c.name === 'string' && c.name.length > 0), 'name', c.name, 'a non-empty string');

  const signed = config.signed ?? true;
  const symmetricBinary = config.symmetricBinary ?? false;
  if (symmetricBinary) {
    check(config.bits === 1 && signed, 'symmetricBinary', true, 'only with bits: 1 and signed: true');
  }
  return {
    bits: config.bits,
    signed,
    method: config.method ?? 'srq',
    temperature: config.temperature ?? 1,
    window: config.window ?? DEFAULT_WINDOW,
    perChannel: config.perChannel ?? false,
    channelAxis: config.channelAxis ?? -1,
    symmetricBinary,
    init: config.init ?? (symmetricBinary ? 'mean-abs' : signed ? 'std' : 'quantile'),
    initMax: config.initMax ?? null,
    sigmaInit: config.sigmaInit ?? 1 / 3,
    learnSigma: config.learnSigma ?? defaultLearnSigma(config.method ?? 'srq'),
    seed: config.seed ?? 0,
    debug: config.debug ?? false,
    name: config.name ?? 'quantizer',
  };
}
