import * as tf from '@tensorflow/tfjs-core';
import { stopGradient, type CodeMask, type Grid, type Quantizer, type VariableFactory } from '@srq/quantizers';
import { check, checkKnownFields } from './errors';
import { deterministicHardConcrete, HARD_CONCRETE, probabilityNonZero, sampleHardConcrete } from './hard-concrete';
import { SeedStream } from './seeds';

/** Configuration of {@link BitGates}. */
export interface BitGatesConfig {
  /** Bit-width b of the quantizer the gates belong to (1..8): b - minBits gates. */
  bits: number;
  /**
   * The lowest bit-width the gates can learn (1..8, default 1; above `bits` it is `bits`: no
   * gates). Set 2 for a signed weight grid: its 1-bit grid {-α, 0} has no positive value, so a
   * layer whose weights end there cannot pass a signal through a ReLU (specification §1). `@srq/models`
   * does: weights 2, unsigned activations 1 (whose 1-bit grid {0, α} is a binary activation).
   */
  minBits?: number;
  /** Initial gate logit log a (default 3: every bit on, P(z = 0) ≈ 1%). */
  init?: number;
  /** Weight λ of the expected-bits penalty (default 0.01 per bit). */
  lambda?: number;
  /** Bit budget of this quantizer: the penalty is `λ·max(0, E[bits] - targetBits)` (default: none, `λ·E[bits]`). */
  targetBits?: number;
  /**
   * Learning-rate multiplier of the gate logits (default 30, our choice): the variable holds
   * `log a / lrScale`, so that an optimizer whose steps do not depend on the gradient's scale
   * (Adam) moves log a `lrScale` times faster than the weights. Gates start at logit 3 and must
   * cross 0 to drop a bit: at Adam's 1e-3 that takes thousands of steps, at `lrScale` 30 about a
   * hundred.
   */
  lrScale?: number;
  /**
   * Training steps over which the gates sharpen (default 0: never). A trainer that calls
   * {@link BitGates.seek} with the step before every step (as `srq train` does) multiplies the gate
   * logits by k = `annealFactor^min(1, step/anneal)` and divides the hard-concrete temperature by k:
   * `P(z > 0) = Sigmoid(k·log a - (β/k)·log(-γ/ζ))`, so that the sampled gates end as the
   * deterministic ones and the expected bits of the penalty as the learned bits — a budget then
   * holds for the bit-widths inference uses. Which gates are on does not change (the sign of the
   * logit), only how sure the sample is.
   */
  anneal?: number;
  /** Factor by which the gates sharpen over `anneal` steps (default 30: at the end a gate whose logit is 0.2 or more from 0 is sampled on its other side less than 1% of the time). */
  annealFactor?: number;
  /** Seed of the gate sampling (advanced on every training call). Default 0. */
  seed?: number;
  /** Variable name prefix. Default `'bit_gates'`. */
  name?: string;
}

/** A {@link BitGatesConfig} with defaults filled in (`targetBits` null when not set). */
export interface ResolvedBitGatesConfig extends Required<Omit<BitGatesConfig, 'targetBits'>> {
  targetBits: number | null;
}

/** Threshold of the deterministic gate above which a bit counts as learned (kept). */
const ON = 0.5;

/**
 * Learnable bit-widths (specification §5): one hard-concrete gate z_j per droppable bit
 * j = 1..b-m of a quantizer (m = `minBits`, the bits that always stay), nested from the least
 * significant bit up: bit j is kept iff every gate of bits ≥ j is on (`keep_j = Π_{i≥j} z_i`),
 * and code k is kept iff `keep_{ℓ(k)+1}` (levels ≥ b-m always are). The penalty is the expected
 * number of bits `m + Σ_j P(keep_j)`.
 *
 * @example
 * ```ts
 * const gates = new BitGates({ bits: 4, lambda: 0.01 });
 * const y = gates.apply(quantizer, w, true);
 * const loss = tf.add(taskLoss, gates.regularization());
 * gates.learnedBits(); // e.g. 2 after training
 * ```
 */
export class BitGates {
  readonly config: ResolvedBitGatesConfig;
  private logAVar: tf.Variable | null = null;
  private readonly seeds: SeedStream;
  /** The factor on the gate logits at the last {@link seek} (1 without annealing). */
  private sharpness = 1;

  /** @throws {@link DropBitsConfigError} for bits outside 1..8, a negative λ, a target outside [1, bits], … */
  constructor(config: BitGatesConfig) {
    check(typeof config === 'object' && config !== null, 'config', config, 'an object such as { bits: 4 }');
    checkKnownFields(config, ['bits', 'minBits', 'init', 'lambda', 'targetBits', 'lrScale', 'anneal', 'annealFactor', 'seed', 'name']);
    const { bits } = config;
    check(Number.isInteger(bits) && bits >= 1 && bits <= 8, 'bits', bits, 'an integer from 1 to 8');
    const minBits = config.minBits ?? 1;
    check(Number.isInteger(minBits) && minBits >= 1 && minBits <= 8, 'minBits', minBits, 'an integer from 1 to 8');
    const init = config.init ?? 3;
    check(Number.isFinite(init), 'init', init, 'a finite gate logit');
    const lambda = config.lambda ?? 0.01;
    check(typeof lambda === 'number' && lambda >= 0 && Number.isFinite(lambda), 'lambda', lambda, 'a finite number ≥ 0');
    const targetBits = config.targetBits ?? null;
    check(targetBits === null || (typeof targetBits === 'number' && targetBits >= 1 && targetBits <= bits), 'targetBits', targetBits, `a number from 1 to ${bits}`);
    const lrScale = config.lrScale ?? 30;
    check(typeof lrScale === 'number' && lrScale > 0 && Number.isFinite(lrScale), 'lrScale', lrScale, 'a finite number > 0');
    const anneal = config.anneal ?? 0;
    check(Number.isInteger(anneal) && anneal >= 0, 'anneal', anneal, 'a whole number of steps (0: no annealing)');
    const annealFactor = config.annealFactor ?? 30;
    check(typeof annealFactor === 'number' && annealFactor >= 1 && Number.isFinite(annealFactor), 'annealFactor', annealFactor, 'a finite number ≥ 1');
    const seed = config.seed ?? 0;
    check(Number.isInteger(seed), 'seed', seed, 'an integer');
    const name = config.name ?? 'bit_gates';
    this.config = { bits, minBits, init, lambda, targetBits, lrScale, anneal, annealFactor, seed, name };
    this.seeds = new SeedStream(seed);
  }

  /** The bit-width with every gate closed: `min(minBits, bits)`. */
  get floorBits(): number {
    return Math.min(this.config.minBits, this.config.bits);
  }

  /** Number of gates: b - {@link floorBits}. */
  get size(): number {
    return this.config.bits - this.floorBits;
  }

  /** The trained variable, `log a / lrScale` (shape `[size]`), created on first use. */
  get logA(): tf.Variable {
    if (!this.logAVar) this.build();
    return this.logAVar!;
  }

  /** `[logA]`, the variables to train. */
  get trainableWeights(): tf.Variable[] {
    return [this.logA];
  }

  /** Creates the gate logits (with `factory`, e.g. a layer's `addWeight`); a no-op when built. */
  build(factory?: VariableFactory): void {
    if (this.logAVar) return;
    const make = factory ?? ((_name: string, initial: tf.Tensor, trainable: boolean) => tf.variable(initial, trainable));
    this.logAVar = tf.tidy(() => make(`${this.config.name}/log_a`, tf.fill([this.size], this.config.init / this.config.lrScale), true));
  }

  /** The gate logits log a (differentiable in the variable), sharpened by the annealing. */
  private gateLogits(): tf.Tensor {
    const scale = this.config.lrScale * this.sharpness;
    return scale === 1 ? this.logA : tf.mul(this.logA, scale);
  }

  /** The factor on the gate logits now: `annealFactor^min(1, step/anneal)` at the last {@link seek}'s step, 1 without annealing. */
  get annealScale(): number {
    return this.sharpness;
  }

  /**
   * `keep_j = Π_{i≥j} z_i` for j = 1..size (shape `[size]`): sampled gates in training,
   * deterministic ones at inference.
   */
  keep(training: boolean, seed = this.seeds.next()): tf.Tensor {
    return tf.tidy(() => reverseCumprod(training ? sampleHardConcrete(this.gateLogits(), seed, this.temperature()) : deterministicHardConcrete(this.gateLogits())));
  }

  /** The hard-concrete temperature in use: β, divided by the annealing's factor. */
  private temperature(): number {
    return HARD_CONCRETE.beta / this.sharpness;
  }

  /**
   * Moves the random stream of the gate samples to draw `position` (see {@link RegularizedQuantizer.seek});
   * with `anneal`, sharpens the gates for training step `step`.
   */
  seek(position: number, step?: number): void {
    this.seeds.seek(position);
    const { anneal, annealFactor } = this.config;
    if (anneal > 0 && step !== undefined) this.sharpness = annealFactor ** Math.min(1, Math.max(0, step) / anneal);
  }

  /**
   * `P(keep_j) = Π_{i≥j} P(z_i > 0)` for j = 1..size (differentiable). Sharpened gates (`anneal`)
   * give the value; its gradient is that of the gates unsharpened, which does not vanish: a
   * sharpened gate far on one side of 0 is certain, and would otherwise no longer feel the penalty.
   */
  keepProbabilities(): tf.Tensor {
    return tf.tidy(() => {
      const sharp = reverseCumprod(probabilityNonZero(this.gateLogits(), this.temperature()));
      if (this.sharpness === 1) return sharp;
      const plain = reverseCumprod(probabilityNonZero(tf.mul(this.logA, this.config.lrScale)));
      return tf.add(plain, stopGradient(() => tf.sub(sharp, plain)));
    });
  }

  /** Expected number of bits `floorBits + Σ_j P(keep_j)`, a differentiable scalar. */
  penalty(): tf.Scalar {
    return tf.tidy(() => tf.add(this.floorBits, tf.sum(this.keepProbabilities())) as tf.Scalar);
  }

  /** The loss term: `λ·E[bits]`, or `λ·max(0, E[bits] - targetBits)` with a budget. */
  regularization(): tf.Scalar {
    return tf.tidy(() => {
      const { lambda, targetBits } = this.config;
      const bits = this.penalty();
      return tf.mul(lambda, targetBits === null ? bits : tf.relu(tf.sub(bits, targetBits))) as tf.Scalar;
    });
  }

  /** The bit-width after training: {@link floorBits} + the number of bits whose deterministic gates (and all above) are on (> 0.5). */
  learnedBits(): number {
    const z = tf.tidy(() => deterministicHardConcrete(this.gateLogits()).dataSync());
    let bits = this.floorBits;
    for (let j = this.size - 1; j >= 0 && z[j]! > ON; j--) bits++;
    return bits;
  }

  /** The logit of the gate of the lowest bit the learned bit-width keeps (the next to drop), or null at {@link floorBits}. */
  lowestKeptLogit(): number | null {
    const bits = this.learnedBits();
    return bits > this.floorBits ? this.logits()[this.config.bits - bits]! / this.sharpness : null;
  }

  /**
   * Closes the gate of the lowest kept bit (its logit set to at most -0.1): the learned bit-width
   * drops by one. For fitting a budget after training ({@link fitBitBudget}).
   * @returns false at {@link floorBits} (nothing to drop)
   */
  dropLowestBit(): boolean {
    const bits = this.learnedBits();
    if (bits <= this.floorBits) return false;
    const j = this.config.bits - bits;
    const values = Array.from(this.logA.dataSync());
    values[j] = Math.min(values[j]!, -0.1 / this.config.lrScale);
    tf.tidy(() => this.logA.assign(tf.tensor1d(values)));
    return true;
  }

  /** The codes inference will use: those of the learned bit-width's sub-grid. */
  keptCodes(grid: Grid): number[] {
    this.assertFits({ grid });
    return grid.keptCodes(this.config.bits - this.learnedBits());
  }

  /** The inference mask: the learned bit-width's sub-grid, `{ drop: b - learnedBits() }`. */
  inferenceMask(quantizer: Pick<Quantizer, 'grid'>): CodeMask {
    this.assertFits(quantizer);
    return { drop: this.config.bits - this.learnedBits() };
  }

  /**
   * Quantizes `x` through the gates. Inference: nearest code of the learned sub-grid.
   * Training (our construction, after Bayesian Bits, van Baalen et al. 2020): with `r_d` the hard
   * rounding of x on the sub-grid with d dropped bits and the sampled `keep_j`,
   * `x̂ = r_(b-m) + Σ_j keep_j·(r_(j-1) - r_j)` (m = {@link floorBits}). With binary gates that is exactly the nearest kept
   * code of specification §5 (the lowest d bits dropped where `keep_1..keep_d = 0`); its value and
   * its gradients to x, α, σ come from the quantizer on that sub-grid, and
   * `∂x̂/∂keep_j = r_(j-1) - r_j` tells each gate what its bit is worth to the loss.
   *
   * @param onDrop - receives the sampled number of dropped bits (a scalar int32 tensor) for statistics
   * @throws {@link DropBitsConfigError} when the quantizer's bit-width differs from the gates'
   */
  apply(quantizer: Quantizer, x: tf.Tensor, training: boolean, onDrop?: (drop: tf.Tensor) => void): tf.Tensor {
    this.assertFits(quantizer);
    if (!training) return quantizer.apply(x, { training: false, mask: this.inferenceMask(quantizer) });
    if (this.size === 0) return quantizer.apply(x, { training: true });
    return tf.tidy(() => {
      const keep = this.keep(true);
      const drop = tf.sum(tf.cast(tf.equal(keep, 0), 'int32'));
      onDrop?.(drop);
      const base = quantizer.apply(x, { training: true, mask: { drop } });
      const levels = Array.from({ length: this.size + 1 }, (_, d) => stopGradient(() => quantizer.apply(x, { training: false, mask: { drop: d } })));
      // keep_j - [keep_j > 0]: zero in value for binary gates, the gate's gradient path otherwise
      const gate = tf.sub(keep, stopGradient(() => tf.cast(tf.greater(keep, 0), 'float32')));
      // Σ_j (r_(j-1) - r_j)·gate_j, one scalar gate at a time (a stacked [..., size] tensor would cost
      // an interleaving copy and sums over a tiny last axis, both slow)
      let out = base;
      for (let j = 1; j <= this.size; j++) out = tf.add(out, tf.mul(tf.sub(levels[j - 1]!, levels[j]!), tf.reshape(tf.slice(gate, [j - 1], [1]), [])));
      return out;
    });
  }

  /** The gate logits log a as numbers (for reports). */
  logits(): number[] {
    return Array.from(tf.tidy(() => this.gateLogits()).dataSync());
  }

  /** Disposes the gate logits (only when created without a factory). */
  dispose(): void {
    this.logAVar?.dispose();
    this.logAVar = null;
  }

  /** @throws {@link DropBitsConfigError} unless the quantizer's grid has the bit-width these gates were built for */
  assertFits(quantizer: Pick<Quantizer, 'grid'>): void {
    const { grid } = quantizer;
    check(
      grid.bits === this.config.bits && grid.droppableBits >= this.size,
      'quantizer.bits',
      grid.symmetricBinary ? 'symmetric binary' : grid.bits,
      `${this.config.bits} (these gates were built for a ${this.config.bits}-bit grid)`,
    );
  }
}

/** `out_j = Π_{i≥j} v_i` along a 1-D tensor (≤ 7 entries; slices, since tfjs has no cumprod). */
function reverseCumprod(v: tf.Tensor): tf.Tensor {
  const n = v.shape[0]!;
  if (n <= 1) return v;
  const out: tf.Tensor[] = new Array(n);
  out[n - 1] = tf.slice(v, [n - 1], [1]);
  for (let j = n - 2; j >= 0; j--) out[j] = tf.mul(tf.slice(v, [j], [1]), out[j + 1]!);
  return tf.concat(out);
}
