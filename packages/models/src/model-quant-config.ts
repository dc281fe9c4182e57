import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BitGates, bitBudgetPenalty, DropBits, fitBitBudget, type BitGatesConfig, type DropBitsConfig } from '@srq/dropbits';
import { ConfigError, QUANTIZER_METHODS, resolveQuantizerConfig, type QuantizerMethod } from '@srq/quantizers';
import type { TensorQuantConfig } from './quant-config';
import type { QuantSlot } from './quant-slot';

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
  /**
   * Learn a bit-width per quantizer with BitGates from the nominal bits (null: fixed bits).
   * `targetBits` is here one budget for the whole model — the average of the quantizers'
   * expected bits, as `modelReport().averageBits` averages them —, so layers may end up with
   * different bit-widths: the loss gets `λ·max(0, avg E[bits] - targetBits)` once (see
   * {@link QuantPlan.attachBitBudget}; λ defaults to 1 with a target: a constraint, no pressure
   * below it) instead of one penalty per quantizer. `minBits` defaults to 2 for weights and 1 for
   * unsigned activations (the signed 1-bit grid {-α, 0} has no positive value); set, it holds for
   * every quantizer.
   */
  learnBits?: Omit<BitGatesConfig, 'bits' | 'name' | 'seed'> | null;
  /** Keep the first and last layers' weights float (default false: every layer is quantized). */
  keepFirstLastFloat?: boolean;
  /** Per-channel weight step α (default false). */
  perChannel?: boolean;
  /** Gumbel temperature of rq / rq-st. */
  temperature?: number;
  /** σ/α at init of the relaxed quantizers (rq, rq-st, srq); default 1/3 (specification §2). */
  sigmaInit?: number;
  /** Train σ of the relaxed quantizers, or keep σ/α at `sigmaInit` (false). Default: the method's — false for srq, true for rq and rq-st (specification §3). */
  learnSigma?: boolean;
  /** Base seed of the quantizers' noise and drops, and (in the zoo) of the kernels' initialisation. */
  seed?: number;
  /**
   * Bits of single tensors, overriding `weightBits` / `activationBits`: keyed `'<layer>/weights'`
   * or `'<layer>/activations'`, as `modelReport().bits` reports them — e.g. to retrain from
   * scratch with learned bit-widths fixed (the quantized lottery ticket, specification §5).
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
  weights(position: 'first' | 'middle' | 'last' = 'middle', layer?: string, channelAxis?: number): TensorQuantConfig | null {
    if (this.method === 'fp') return null;
    if (this.config.keepFirstLastFloat && position !== 'middle') return null;
    const t = this.tensor(this.bitsOf(layer, 'weights', this.config.weightBits ?? 2), true, this.config.dropBitsOn !== 'activations');
    // a layer that asks for per-channel steps (depthwise: along its depth) gets them whatever perChannel says
    return channelAxis === undefined ? t : { ...t, quantizer: { ...t.quantizer, perChannel: true, channelAxis } };
  }

  /**
   * Config for an activation (null: float): an unsigned grid (after ReLU-like functions, the
   * default) or a signed one; `initMax` spans the grid over a bounded function's range (ReLU6: 6)
   * instead of initialising it from the first batch; `layer` as for {@link weights}.
   */
  activations(layer?: string, options: { signed?: boolean; initMax?: number | null } = {}): TensorQuantConfig | null {
    if (this.method === 'fp') return null;
    const t = this.tensor(this.bitsOf(layer, 'activations', this.config.activationBits ?? 2), options.signed ?? false, this.config.dropBitsOn !== 'weights');
    return options.initMax ? { ...t, quantizer: { ...t.quantizer, initMax: options.initMax } } : t;
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

  /** Per-quantizer gates: with a model budget their own penalty is off (λ = 0, no target). */
  private gatesConfig(learnBits: NonNullable<ModelQuantConfig['learnBits']>, seed: number): TensorQuantConfig['bitGates'] {
    const { targetBits, ...rest } = learnBits;
    return targetBits === undefined ? { ...rest, seed } : { ...rest, lambda: 0, seed };
  }

  /**
   * Adds the model's bit budget (`learnBits.targetBits`) to the loss: one penalty over the gates
   * of every quantized tensor of `model`, registered as a loss of its first gated layer (so that
   * `model.fit()` and `model.calculateLosses()` include it). A no-op without a target.
   */
  attachBitBudget(model: tfl.LayersModel): void {
    const learn = this.config.learnBits;
    if (!learn || learn.targetBits === undefined || this.method === 'fp') return;
    const gated = gatedLayers(model);
    if (!gated.length) return;
    const options = { lambda: learn.lambda ?? BUDGET_LAMBDA, targetBits: learn.targetBits };
    const gates = gated.map((g) => g.gates);
    (gated[0]!.layer as unknown as { addLoss(loss: () => tf.Scalar): void }).addLoss(() => bitBudgetPenalty(gates, options));
  }

  private tensor(bits: number, signed: boolean, dropHere: boolean): TensorQuantConfig {
    const seed = (this.config.seed ?? 0) * 1000 + this.next++;
    const { temperature, sigmaInit, learnSigma, perChannel, dropBits, learnBits } = this.config;
    return {
      quantizer: {
        bits,
        signed,
        method: this.method as QuantizerMethod,
        seed,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(sigmaInit !== undefined ? { sigmaInit } : {}),
        ...(learnSigma !== undefined ? { learnSigma } : {}),
        ...(perChannel && signed ? { perChannel: true } : {}),
      },
      dropBits: dropBits && dropHere ? { ...dropBits, seed } : null,
      bitGates: learnBits ? this.gatesConfig(learnBits, seed) : null,
    };
  }
}

/** The layers of a model whose quantizer learns its bits, with their gates. */
function gatedLayers(model: tfl.LayersModel): { layer: tfl.layers.Layer; gates: BitGates }[] {
  return model.layers.flatMap((layer) => {
    const gates = (layer as unknown as { slot?: QuantSlot | null }).slot?.regularized.regularizer;
    return gates instanceof BitGates ? [{ layer, gates }] : [];
  });
}

/**
 * Makes a trained model's learned bit-widths keep a model-wide budget of `targetBits` average bits
 * (as `learnBits.targetBits` averages them: over its quantizers): closes the least certain gates
 * until they do ({@link fitBitBudget}). Call it after training, then evaluate; `srq train` does.
 *
 * @returns how many bits were dropped (0 when the learned bits already keep the budget)
 */
export function fitModelBitBudget(model: tfl.LayersModel, targetBits: number): number {
  const gates = gatedLayers(model).map((g) => g.gates);
  return gates.length ? fitBitBudget(gates, { targetBits }) : 0;
}

/** Default λ of the model's bit budget (`learnBits.targetBits`): large, since it is a constraint. */
export const BUDGET_LAMBDA = 1;

/**
 * Checks a model quantization config without building a model: every quantizer, DropBits and
 * BitGates config it produces is validated.
 * @throws the library's config errors (`QuantizerConfigError`, `DropBitsConfigError`) naming the bad field
 */
export function validateModelQuantConfig(config: ModelQuantConfig): void {
  const plan = new QuantPlan(config);
  const { learnBits } = config;
  if (learnBits?.targetBits !== undefined) {
    const bits = Math.max(config.weightBits ?? 2, config.activationBits ?? 2, ...Object.values(config.layerBits ?? {}));
    new BitGates({ ...learnBits, bits }); // the model budget: within 1..the largest bits
  }
  for (const t of [plan.weights('first'), plan.activations()]) {
    if (!t) continue;
    resolveQuantizerConfig(t.quantizer);
    if (t.dropBits) new DropBits(t.dropBits);
    if (t.bitGates) new BitGates({ ...t.bitGates, bits: t.quantizer.bits });
  }
}
