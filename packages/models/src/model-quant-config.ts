import { BitGates, DropBits, type BitGatesConfig, type DropBitsConfig } from '@srq/dropbits';
import { QUANTIZER_METHODS, resolveQuantizerConfig, type QuantizerMethod } from '@srq/quantizers';
import type { TensorQuantConfig } from './quant-config';

/** Methods a model can be trained with: a quantizer method, or `'fp'` (full precision). */
export const MODEL_METHODS = ['fp', ...QUANTIZER_METHODS] as const;
/** One of {@link MODEL_METHODS}. */
export type ModelMethod = (typeof MODEL_METHODS)[number];

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
  /** Base seed of the quantizers' noise and drops. */
  seed?: number;
}

/** Hands out the per-tensor quantization configs of one model, with distinct seeds. */
export class QuantPlan {
  private next = 0;
  readonly method: ModelMethod;

  constructor(readonly config: ModelQuantConfig = {}) {
    this.method = config.method ?? 'srq';
  }

  /** Config for the weights of a layer (null: float). `position` marks the first and last layers. */
  weights(position: 'first' | 'middle' | 'last' = 'middle'): TensorQuantConfig | null {
    if (this.method === 'fp') return null;
    if (this.config.keepFirstLastFloat && position !== 'middle') return null;
    return this.tensor(this.config.weightBits ?? 2, true, this.config.dropBitsOn !== 'activations');
  }

  /** Config for a post-ReLU activation (null: float). */
  activations(): TensorQuantConfig | null {
    if (this.method === 'fp') return null;
    return this.tensor(this.config.activationBits ?? 2, false, this.config.dropBitsOn !== 'weights');
  }

  private tensor(bits: number, signed: boolean, dropHere: boolean): TensorQuantConfig {
    const seed = (this.config.seed ?? 0) * 1000 + this.next++;
    const { temperature, perChannel, dropBits, learnBits } = this.config;
    return {
      quantizer: {
        bits,
        signed,
        method: this.method as QuantizerMethod,
        seed,
        ...(temperature !== undefined ? { temperature } : {}),
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
