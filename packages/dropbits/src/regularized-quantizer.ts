import * as tf from '@tensorflow/tfjs-core';
import type { QuantizedCodes, Quantizer } from '@srq/quantizers';
import { BitGates } from './bit-gates';
import { DropBits } from './drop-bits';

/** Either regularizer of this package. */
export type BitRegularizer = DropBits | BitGates;

/**
 * What a regularized quantizer reports: nominal and learned bits, the codes inference will use,
 * and what the regularizer did during training.
 */
export interface QuantizerReport {
  /** Quantizer name (`config.name`). */
  name: string;
  method: string;
  /** Bit-width of the grid. */
  nominalBits: number;
  /** Bit-width at inference: learned by BitGates, the nominal one otherwise. */
  learnedBits: number;
  /** Codes inference uses. */
  keptCodes: number[];
  /** The learned grid step α: one value, or one per channel (`perChannel`). */
  alpha: number[];
  /** The learned noise scale as σ/α (same layout as `alpha`); null for `ste`, which has no σ. */
  sigmaRatio: number[] | null;
  regularizer: 'dropbits' | 'bitgates' | 'none';
  /**
   * Dropped-bit statistics over the training calls: `samples` draws of d, `frequency[d]` the
   * measured share of each d = 0..b-1; for DropBits also `expected[d]` = `p^d - p^(d+1)` (`p^m` for the largest d allowed, m = b − keepBits; 0 above it).
   */
  drop: { samples: number; frequency: number[]; expected?: number[] } | null;
  /** BitGates: the gate logits and `P(keep_j)` for j = 1..b - minBits. */
  gates: { logA: number[]; keepProbability: number[] } | null;
}

/**
 * A {@link Quantizer} with DropBits or BitGates attached (the glue that keeps `@srq/quantizers`
 * free of this package): every call builds the regularizer's mask and hands it to the quantizer
 * through its `mask` hook, and the dropped-bit statistics are accumulated on the device (no read
 * per step).
 *
 * @example
 * ```ts
 * const rq = regularize(new Quantizer({ bits: 2 }), new DropBits({ p: 0.05 }));
 * const y = rq.apply(w, { training: true });
 * rq.report(); // { nominalBits: 2, learnedBits: 2, drop: { frequency: [...] }, ... }
 * ```
 */
export class RegularizedQuantizer {
  private counts: tf.Variable | null = null;

  constructor(
    readonly quantizer: Quantizer,
    readonly regularizer: BitRegularizer | null = null,
  ) {
    if (regularizer instanceof BitGates) regularizer.assertFits(quantizer);
  }

  /**
   * Creates and initialises every variable from `sample` (the quantizer's α from data, the gate
   * logits). Call it before handing {@link trainableWeights} to an optimizer: tfjs optimizers
   * keep their state by position in the variable list, which must not change between steps.
   */
  init(sample: tf.Tensor): void {
    this.quantizer.init(sample);
    if (this.regularizer instanceof BitGates) this.regularizer.build();
  }

  /** Quantizer variables and gate logits: everything to train (empty for the quantizer before its first call or {@link init}). */
  get trainableWeights(): tf.Variable[] {
    const gates = this.regularizer instanceof BitGates ? this.regularizer.trainableWeights : [];
    return [...this.quantizer.trainableWeights, ...gates];
  }

  /** Quantizes `x` with the regularizer's mask (none at inference for DropBits; the learned bits for BitGates). */
  apply(x: tf.Tensor, options: { training: boolean }): tf.Tensor {
    const { training } = options;
    return tf.tidy(() => {
      const r = this.regularizer;
      const bits = this.quantizer.config.bits;
      if (r instanceof BitGates) return r.apply(this.quantizer, x, training, (drop) => this.accumulate(tf.reshape(tf.oneHot(tf.reshape(drop, [1]), bits), [bits])));
      const mask = r?.mask(this.quantizer, x, training);
      return this.quantizer.apply(x, { training, ...(mask ? { mask, onDropCounts: (counts) => this.accumulate(counts) } : {}) });
    });
  }

  /**
   * Moves every random stream of this quantizer (its Gumbel noise, the drops or gate samples) to
   * draw `position`. A trainer that seeks all streams to a function of the step before each step
   * makes the noise a function of the step alone: a run resumed from a checkpoint draws what the
   * uninterrupted run drew, bit for bit. `step` sets an annealed DropBits p (`DropBitsConfig.anneal`).
   */
  seek(position: number, step?: number): void {
    this.quantizer.seekNoise(position);
    this.regularizer?.seek(position, step);
  }

  /** The gate penalty to add to the loss (BitGates), or null. */
  regularization(): tf.Scalar | null {
    return this.regularizer instanceof BitGates ? this.regularizer.regularization() : null;
  }

  /** Integer codes at inference (on the learned sub-grid for BitGates). */
  codes(x: tf.Tensor): QuantizedCodes {
    const r = this.regularizer;
    return this.quantizer.codes(x, r instanceof BitGates ? { mask: r.inferenceMask(this.quantizer) } : {});
  }

  /** Bit-width at inference. */
  learnedBits(): number {
    return this.regularizer instanceof BitGates ? this.regularizer.learnedBits() : this.quantizer.config.bits;
  }

  /** The report of this quantizer (reads a few numbers from the device). */
  report(): QuantizerReport {
    const { quantizer, regularizer } = this;
    const bits = quantizer.config.bits;
    const learnedBits = this.learnedBits();
    const report: QuantizerReport = {
      name: quantizer.config.name,
      method: quantizer.config.method,
      nominalBits: bits,
      learnedBits,
      keptCodes: quantizer.grid.keptCodes(bits - learnedBits),
      alpha: quantizer.logAlpha ? Array.from(quantizer.logAlpha.dataSync(), Math.exp) : [],
      sigmaRatio: quantizer.logSigma ? Array.from(quantizer.logSigma.dataSync(), Math.exp) : null,
      regularizer: regularizer instanceof DropBits ? 'dropbits' : regularizer instanceof BitGates ? 'bitgates' : 'none',
      drop: null,
      gates: null,
    };
    if (this.counts) {
      const counts = Array.from(this.counts.dataSync());
      const samples = counts.reduce((a, b) => a + b, 0);
      report.drop = { samples, frequency: counts.map((c) => (samples > 0 ? c / samples : 0)) };
      if (regularizer instanceof DropBits) {
        const { p, keepBits } = regularizer.config;
        const maxDrop = Math.max(0, bits - keepBits);
        report.drop.expected = Array.from({ length: bits }, (_, d) => (d > maxDrop ? 0 : d === maxDrop ? p ** d : p ** d - p ** (d + 1)));
      }
    }
    if (regularizer instanceof BitGates) {
      report.gates = { logA: regularizer.logits(), keepProbability: Array.from(regularizer.keepProbabilities().dataSync()) };
    }
    return report;
  }

  /** Disposes the statistics (the quantizer and regularizer are the caller's). */
  dispose(): void {
    this.counts?.dispose();
    this.counts = null;
  }

  /** Adds one call's counts of each number of dropped bits (`[bits]`) to the statistics. */
  private accumulate(counts: tf.Tensor): void {
    if (!this.counts) this.counts = tf.variable(tf.zeros([this.quantizer.config.bits]), false);
    this.counts.assign(tf.add(this.counts, counts));
  }
}

/**
 * Attaches DropBits or BitGates to a quantizer.
 * @throws {@link DropBitsConfigError} when BitGates were built for another bit-width
 */
export function regularize(quantizer: Quantizer, regularizer: BitRegularizer | null = null): RegularizedQuantizer {
  return new RegularizedQuantizer(quantizer, regularizer);
}
