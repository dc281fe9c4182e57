import * as tf from '@tensorflow/tfjs-core';
import { channelLayout, splitChannels, type ChannelLayout } from './channels';
import { codeArray, type QuantizedCodes } from './codes';
import { resolveQuantizerConfig, type QuantizerConfig, type ResolvedQuantizerConfig } from './config';
import { QuantizerInputError } from './errors';
import { Grid } from './grid';
import { initialAlpha } from './init';
import { hardCode, resolveMask, type QuantizerMask } from './mask';
import { assertFinite, quantize, type QuantizeOptions } from './quantize';

/**
 * Creates a variable for a quantizer parameter. The default makes a `tf.Variable`; a layer passes
 * one that registers the weight with itself (e.g. through tfjs-layers' `addWeight`), so that the
 * parameter is saved, loaded and trained with the model.
 */
export type VariableFactory = (name: string, initial: tf.Tensor, trainable: boolean) => tf.Variable;

/** `tf.variable` with the name made unique (tfjs variable names are global). */
const defaultFactory: VariableFactory = (name, initial, trainable) => {
  const taken = tf.engine().registeredVariables;
  let unique = name;
  for (let i = 1; unique in taken; i++) unique = `${name}_${i}`;
  return tf.variable(initial, trainable, unique);
};

/** Golden-ratio increment that spreads the per-call Gumbel seeds. */
const SEED_STEP = 0x9e3779b1;

/**
 * A learnable b-bit quantizer for TensorFlow.js (specification §1–3): a grid `g_k = α·k` with a
 * learnable step α (learned as log α) and, for the relaxed methods, a learnable logistic noise
 * scale σ (learned as ρ = log(σ/α), `σ = α/3` at init).
 *
 * α is initialised from the first tensor the quantizer sees (or an explicit {@link Quantizer.init}).
 * Train it by including {@link Quantizer.trainableWeights} in your optimizer's variable list.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { Quantizer } from '@srq/quantizers';
 *
 * const q = new Quantizer({ bits: 2, method: 'srq' });
 * const w = tf.variable(tf.randomNormal([64, 10]));
 * const opt = tf.train.adam(1e-3);
 * opt.minimize(() => tf.losses.meanSquaredError(target, tf.matMul(x, q.apply(w, { training: true }))));
 * const { codes, scale } = q.codes(w); // 2-bit integer codes and α
 * ```
 */
export class Quantizer {
  /** The resolved configuration (plain JSON; `new Quantizer(q.getConfig())` recreates it). */
  readonly config: ResolvedQuantizerConfig;
  /** The grid of codes. */
  readonly grid: Grid;
  private logAlphaVar: tf.Variable | null = null;
  private logSigmaVar: tf.Variable | null = null;
  private layoutValue: ChannelLayout | null = null;
  private isInitialized = false;
  private calls = 0;

  /**
   * @param config - bits (1..8) and options, see {@link QuantizerConfig}
   * @throws {@link QuantizerConfigError} naming a bad field, its value and the allowed values
   */
  constructor(config: QuantizerConfig) {
    this.config = resolveQuantizerConfig(config);
    this.grid = new Grid(this.config);
  }

  /** Whether the parameters exist (after {@link build}, {@link init} or the first {@link apply}). */
  get built(): boolean {
    return this.logAlphaVar !== null;
  }

  /** Whether α has been set from data (or declared set by {@link markInitialized}). */
  get initialized(): boolean {
    return this.isInitialized;
  }

  /** The log α variable (shape `[]`, or `[C]` per channel), or null before build. */
  get logAlpha(): tf.Variable | null {
    return this.logAlphaVar;
  }

  /** The ρ = log(σ/α) variable, or null before build and for `ste`. */
  get logSigma(): tf.Variable | null {
    return this.logSigmaVar;
  }

  /** The variables to train: `[logAlpha, logSigma]` with `learnSigma` (the default of `rq` and `rq-st`), `[logAlpha]` otherwise and for `ste` (empty before build). */
  get trainableWeights(): tf.Variable[] {
    return [this.logAlphaVar, this.config.learnSigma ? this.logSigmaVar : null].filter((v): v is tf.Variable => v !== null);
  }

  /** Current grid step α = exp(log α) (a new tensor; dispose it). */
  alpha(): tf.Tensor {
    return tf.exp(this.requireBuilt().logAlpha);
  }

  /** Current noise scale σ = α·exp(ρ) (a new tensor; dispose it). */
  sigma(): tf.Tensor {
    const { logAlpha, logSigma } = this.requireBuilt();
    if (!logSigma) throw new QuantizerInputError(`The '${this.config.method}' quantizer has no σ.`, { field: 'logSigma' });
    return tf.exp(tf.add(logAlpha, logSigma));
  }

  /**
   * Creates the parameters for tensors of shape `shape` with default values (α = 1, σ/α =
   * `sigmaInit`); {@link init} or the first call then sets α from data.
   *
   * @param shape - shape of the tensors this quantizer will quantize (only the channel axis matters)
   * @param factory - creates the variables (default `tf.variable`)
   * @throws {@link QuantizerInputError} when already built for another channel count, or the shape has no channel axis
   */
  build(shape: readonly number[], factory: VariableFactory = defaultFactory): void {
    const layout = channelLayout(shape, this.config.perChannel ? this.config.channelAxis : null);
    if (this.layoutValue) {
      if (this.layoutValue.channels !== layout.channels) {
        throw new QuantizerInputError(
          `Quantizer was built for ${this.layoutValue.channels} channel(s); got a tensor of shape [${shape.join(', ')}] with ${layout.channels}.`,
          { field: 'shape', shape: [...shape] },
        );
      }
      return;
    }
    const paramShape = layout.axis === null ? [] : [layout.channels];
    const { name } = this.config;
    this.logAlphaVar = tf.tidy(() => factory(`${name}/log_alpha`, tf.zeros(paramShape), true));
    if (this.config.method !== 'ste') {
      const rho = Math.log(this.config.sigmaInit);
      this.logSigmaVar = tf.tidy(() => factory(`${name}/log_sigma`, tf.fill(paramShape, rho), this.config.learnSigma));
    }
    this.layoutValue = layout;
  }

  /**
   * Data-driven initialisation (specification §1): α from `sample` (see {@link QuantizerConfig.init}),
   * σ = `sigmaInit`·α. Builds the quantizer if needed. Reads `sample` to the CPU once.
   *
   * @param sample - a weight tensor, or a first batch of activations
   * @throws {@link QuantizerInputError} for NaN / Infinity in the sample or a shape without the channel axis
   */
  init(sample: tf.Tensor): void {
    this.build(sample.shape);
    const layout = this.layoutValue!;
    const data = sample.dataSync() as Float32Array;
    if (!data.every(Number.isFinite)) throw new QuantizerInputError('Quantizer init sample contains NaN or Infinity.', { field: 'sample' });
    const alphas = splitChannels(data, sample.shape, layout).map((v) => initialAlpha(v, this.config, this.grid));
    const shape = layout.axis === null ? [] : [layout.channels];
    tf.tidy(() => {
      this.logAlphaVar!.assign(tf.tensor(alphas.map(Math.log), shape, 'float32'));
      this.logSigmaVar?.assign(tf.fill(shape, Math.log(this.config.sigmaInit)));
    });
    this.isInitialized = true;
  }

  /** Declares the parameters initialised (e.g. after loading trained values into them). */
  markInitialized(): void {
    this.requireBuilt();
    this.isInitialized = true;
  }

  /**
   * Quantizes `x` (specification §3). The first call initialises α from `x` unless {@link init} ran.
   *
   * @param x - float32 tensor (weights, or activations for an unsigned quantizer)
   * @param options - `training` (method's forward and gradients) or inference (deterministic
   *   rounding); `mask` removes or reweights codes (the DropBits / BitGates hook); `seed` for the
   *   Gumbel noise of `rq` / `rq-st` (default: config seed advanced on every training call)
   * @returns the quantized tensor, shape of x
   * @throws {@link QuantizerInputError} for NaN input with `debug`, or a shape that does not fit the parameters
   */
  apply(x: tf.Tensor, options: QuantizeOptions): tf.Tensor {
    if (this.config.debug) assertFinite(x, 'x');
    if (!this.isInitialized) this.init(x);
    else this.build(x.shape);
    const seed = options.seed ?? (this.config.seed + this.calls * SEED_STEP) >>> 0;
    if (options.training) this.calls += 1;
    return quantize(x, this.params(), this.config, { ...options, seed });
  }

  /**
   * The integer codes of `x` under inference rounding, with the scales to rebuild it exactly:
   * `dequantize(q.codes(x))` equals `q.apply(x, { training: false })` bit for bit.
   *
   * @param x - tensor to encode
   * @param options - `mask`: encode on the kept codes only (e.g. learned bit-widths)
   */
  codes(x: tf.Tensor, options: { mask?: QuantizerMask } = {}): QuantizedCodes {
    if (!this.isInitialized) this.init(x);
    const { logAlpha } = this.params();
    const layout = channelLayout(x.shape, this.config.perChannel ? this.config.channelAxis : null);
    const [codes, scale] = tf.tidy(() => {
      const alpha = tf.exp(logAlpha);
      const shaped = layout.axis === null ? alpha : tf.reshape(alpha, layout.broadcastShape);
      const mask = resolveMask(options.mask, this.grid, x.shape, { debug: this.config.debug });
      const code = hardCode(this.grid, tf.div(x, shaped), mask, this.config.window);
      return [code.dataSync(), alpha.dataSync()];
    });
    return {
      codes: codeArray(codes as Float32Array, this.grid.minCode, this.grid.maxCode),
      shape: [...x.shape],
      scale: Float32Array.from(scale as Float32Array),
      zeroPoint: 0,
      bits: this.config.bits,
      signed: this.config.signed,
      symmetricBinary: this.config.symmetricBinary,
      channelAxis: layout.axis,
    };
  }

  /**
   * Moves the Gumbel-noise stream of `rq` / `rq-st` so that the next training call uses the seed
   * of call `position` (exact resume: the noise as a function of the training step).
   */
  seekNoise(position: number): void {
    this.calls = position;
  }

  /** The configuration, for serialisation (`new Quantizer(q.getConfig())`). */
  getConfig(): ResolvedQuantizerConfig {
    return { ...this.config };
  }

  /** Disposes the variables (only those the default factory created belong to the quantizer). */
  dispose(): void {
    this.logAlphaVar?.dispose();
    this.logSigmaVar?.dispose();
    this.logAlphaVar = null;
    this.logSigmaVar = null;
    this.layoutValue = null;
    this.isInitialized = false;
  }

  private params(): { logAlpha: tf.Variable; logSigma?: tf.Variable } {
    const { logAlpha, logSigma } = this.requireBuilt();
    return logSigma ? { logAlpha, logSigma } : { logAlpha };
  }

  private requireBuilt(): { logAlpha: tf.Variable; logSigma: tf.Variable | null } {
    if (!this.logAlphaVar) {
      throw new QuantizerInputError('Quantizer is not built: call build(shape), init(sample) or apply(x) first.', { field: 'logAlpha' });
    }
    return { logAlpha: this.logAlphaVar, logSigma: this.logSigmaVar };
  }
}
