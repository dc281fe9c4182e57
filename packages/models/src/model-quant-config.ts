import { BitGates, DropBits, type BitGatesConfig, type DropBitsConfig } from '@srq/dropbits';
import { ConfigError, QUANTIZER_METHODS, resolveQuantizerConfig, type QuantizerMethod } from '@srq/quantizers';
import type { TensorQuantConfig } from './quant-config';

/** Methods a model can be trained with: a quantizer method, or `'fp'` (full precision). */
export const MODEL_METHODS = ['fp', ...QUANTIZER_METHODS] as const;
/** One of {@link MODEL_METHODS}. */
export type ModelMethod = (typeof MODEL_METHODS)[number];

/** A model quantization config field holds a value the model cannot use. */
export class ModelConfigError extends ConfigError {
  constructor(field: string, value: unknown, allowed: string) {
    super('MODEL_CONFIG', 'model quantization', field, value, allowed);
  }
}

/** How a whole model is quantized (the zoo and {@link quantizeModel} take it). */
export interface ModelQuantConfig {
  /** `'srq'` (default), `'rq'`, `'rq-st'`, `'ste'` or `'fp'` (no quantizers). */
  method?: ModelMethod;
  /** Weight bits (default 2). */
  weightBits?: number;
  /** Activation bits (default 2). */
  activationBits?: number;
  /** DropBits on the quantizers (null: none). */
  dropBits?: DropBitsConfig | null;
  /** Which quantizers DropBits regularizes (default `'both'`). */
  dropBitsOn?: 'weights' | 'activations' | 'both';
  /** Learn a bit-width per quantizer with BitGates from the nominal bits (null: fixed bits). */
  learnBits?: Omit<BitGatesConfig, 'bits' | 'name' | 'seed'> | null;
  /** Keep the first and last layers' weights float (default false: every layer is quantized). */
  keepFirstLastFloat?: boolean;
  /** Per-channel weight step α (default false). */
  perChannel?: boolean;
  /** Gumbel temperature of rq / rq-st. */
  temperature?: number;
  /** σ/α at init of the relaxed quantizers (rq, rq-st, srq); default 1/3 (ALGORITHM.md §2). */
  sigmaInit?: number;
  /** Base seed of the quantizers' noise and drops, and (in the zoo) of the kernels' initialisation. */
  seed?: number;
  /**
   * Bits of single tensors, overriding `weightBits` / `activationBits`: keyed `'<layer>/weights'`
   * or `'<layer>/activations'`, as `modelReport().bits` reports them — e.g. to retrain from
   * scratch with learned bit-widths fixed (the quantized lottery ticket, ALGORITHM.md §5).
   */
  layerBits?: Record<string, number>;
}

/** Hands out the per-tensor quantization configs of one model, with distinct seeds. */
export class QuantPlan {
  private next = 0;
  readonly method: ModelMethod;

  constructor(readonly config: ModelQuantConfig = {}) {
    this.method = config.method ?? 'srq';
  }

  /**
   * Config for the weights of a layer (null: float). `position` marks the first and last layers;
   * `layer` (its name) picks up a `layerBits` override.
   */
  weights(position: 'first' | 'middle' | 'last' = 'middle', layer?: string): TensorQuantConfig | null {
    if (this.method === 'fp') return null;
    if (this.config.keepFirstLastFloat && position !== 'middle') return null;
    return this.tensor(this.bitsOf(layer, 'weights', this.config.weightBits ?? 2), true, this.config.dropBitsOn !== 'activations');
  }

  /** Config for a post-ReLU activation (null: float); `layer` as for {@link weights}. */
  activations(layer?: string): TensorQuantConfig | null {
    if (this.method === 'fp') return null;
    return this.tensor(this.bitsOf(layer, 'activations', this.config.activationBits ?? 2), false, this.config.dropBitsOn !== 'weights');
  }

  private readonly seen = new Set<string>();

  private bitsOf(layer: string | undefined, tensor: 'weights' | 'activations', fallback: number): number {
    if (layer === undefined) return fallback;
    const key = `${layer}/${tensor}`;
    this.seen.add(key);
    return this.config.layerBits?.[key] ?? fallback;
  }

  private kernels = 0;

  /** Seed of the next layer's kernel initialisation: from `seed`, so that a run's initial weights are reproducible. */
  kernelSeed(): number {
    return ((this.config.seed ?? 0) + 1) * 100_003 + this.kernels++;
  }

  /** Keys (`'<layer>/weights'`, `'<layer>/activations'`) of the tensors this plan configured. */
  get tensorsSeen(): string[] {
    return [...this.seen];
  }

  /**
   * Throws when `layerBits` names a tensor the model does not quantize (call after building).
   * @throws {@link ModelConfigError}
   */
  checkLayerBitsUsed(seen: string[] = this.tensorsSeen): void {
    const known = new Set(seen);
    const unused = Object.keys(this.config.layerBits ?? {}).filter((k) => !known.has(k));
    if (unused.length && this.method !== 'fp') throw new ModelConfigError('layerBits', unused.join(', '), `keys of the tensors this model quantizes: ${seen.join(', ')}`);
  }

  private tensor(bits: number, signed: boolean, dropHere: boolean): TensorQuantConfig {
    const seed = (this.config.seed ?? 0) * 1000 + this.next++;
    const { temperature, sigmaInit, perChannel, dropBits, learnBits } = this.config;
    return {
      quantizer: {
        bits,
        signed,
        method: this.method as QuantizerMethod,
        seed,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(sigmaInit !== undefined ? { sigmaInit } : {}),
        ...(perChannel && signed ? { perChannel: true } : {}),
      },
      dropBits: dropBits && dropHere ? { ...dropBits, seed } : null,
      bitGates: learnBits ? { ...learnBits, seed } : null,
    };
  }
}

/**
 * Checks a model quantization config without building a model: every quantizer, DropBits and
 * BitGates config it produces is validated.
 * @throws the library's config errors (`QuantizerConfigError`, `DropBitsConfigError`) naming the bad field
 */
export function validateModelQuantConfig(config: ModelQuantConfig): void {
  const plan = new QuantPlan(config);
  for (const t of [plan.weights('first'), plan.activations()]) {
    if (!t) continue;
    resolveQuantizerConfig(t.quantizer);
    if (t.dropBits) new DropBits(t.dropBits);
    if (t.bitGates) new BitGates({ ...t.bitGates, bits: t.quantizer.bits });
  }
}
