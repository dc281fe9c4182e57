import * as tf from '@tensorflow/tfjs-core';
import { MASK_PICKS, type CodeMask, type MaskPick, type Quantizer } from '@srq/quantizers';
import { check, checkKnownFields } from './errors';
import { SeedStream } from './seeds';

/** Which elements share one sampled number of dropped bits. */
export const DROP_GRANULARITIES = ['element', 'channel', 'tensor'] as const;
/** One of {@link DROP_GRANULARITIES}. */
export type DropGranularity = (typeof DROP_GRANULARITIES)[number];

/** Configuration of {@link DropBits}. */
export interface DropBitsConfig {
  /** Drop probability p ∈ [0, 1): `P(d ≥ j) = p^j`, j = 1..b-1. */
  p: number;
  /** One d per element (default, the paper's rule), per channel, or per tensor and step. */
  granularity?: DropGranularity;
  /** Channel axis for `granularity: 'channel'` (default -1, the output axis of tfjs kernels). */
  channelAxis?: number;
  /** Only quantizers with at least this many bits are regularized (default 2: every droppable grid). */
  minBits?: number;
  /**
   * The dropped grid keeps at least this many bits: d ≤ b − keepBits (default 1: any bit but the
   * top one). 2 is the "never below 2 bits" variant; a quantizer of at most keepBits bits is then
   * not regularized. Above 1 it needs `granularity` `'channel'` or `'tensor'` (per element, the
   * quantizer's fused kernel samples d up to b − 1).
   */
  keepBits?: number;
  /**
   * What the forward pass outputs: the `'nearest'` kept code (default), the unbiased `'sample'`
   * between the two kept codes around x, or `'full'` — the nearest code of the whole grid, so that
   * only the straight-through gradient's categorical sees the dropped bits (gradient-only DropBits).
   */
  pick?: MaskPick;
  /** Seed of the drop sampling (advanced on every training call). Default 0. */
  seed?: number;
  /**
   * Anneal p linearly to 0 over this many training steps (0, the default: p stays constant). The
   * step comes from {@link DropBits.seek} (`seekRandomStreams(model, step)` of @srq/models, which
   * `srq train` calls before every step): p at step s is p·max(0, 1 − s/anneal).
   */
  anneal?: number;
}

/** A {@link DropBitsConfig} with the defaults filled in. */
export type ResolvedDropBitsConfig = Required<DropBitsConfig>;

/**
 * DropBits (specification §4): dropout for bits. During training, for each element (or channel,
 * or tensor), sample the number d of dropped low bits with `P(d ≥ j) = p^j` for j = 1..b-1 and
 * hand the quantizer the mask that keeps the codes with bit level ℓ(k) ≥ d — the (b-d)-bit grid of
 * step 2^d·α. Inactive at inference. Reproducible from `seed`.
 *
 * @example
 * ```ts
 * const dropBits = new DropBits({ p: 0.05, granularity: 'tensor', seed: 1 });
 * const y = quantizer.apply(w, { training: true, mask: dropBits.mask(quantizer, w, true) });
 * ```
 */
export class DropBits {
  readonly config: ResolvedDropBitsConfig;
  private readonly seeds: SeedStream;
  private p: number;

  /** @throws {@link DropBitsConfigError} for p outside [0, 1), an unknown granularity, … */
  constructor(config: DropBitsConfig) {
    check(typeof config === 'object' && config !== null, 'config', config, 'an object such as { p: 0.1 }');
    checkKnownFields(config, ['p', 'granularity', 'channelAxis', 'minBits', 'keepBits', 'pick', 'seed', 'anneal']);
    const { p } = config;
    check(typeof p === 'number' && p >= 0 && p < 1, 'p', p, 'a number in [0, 1)');
    const granularity = config.granularity ?? 'element';
    check((DROP_GRANULARITIES as readonly string[]).includes(granularity), 'granularity', granularity, "'element', 'channel' or 'tensor'");
    const channelAxis = config.channelAxis ?? -1;
    check(Number.isInteger(channelAxis), 'channelAxis', channelAxis, 'an integer axis');
    const minBits = config.minBits ?? 2;
    check(Number.isInteger(minBits) && minBits >= 1 && minBits <= 8, 'minBits', minBits, 'an integer from 1 to 8');
    const keepBits = config.keepBits ?? 1;
    check(Number.isInteger(keepBits) && keepBits >= 1 && keepBits <= 8, 'keepBits', keepBits, 'an integer from 1 to 8');
    check(keepBits === 1 || granularity !== 'element', 'keepBits', keepBits, "1 with granularity 'element' (a cap on dropped bits needs granularity 'channel' or 'tensor')");
    const pick = config.pick ?? 'nearest';
    check(MASK_PICKS.includes(pick), 'pick', pick, MASK_PICKS.map((x) => `'${x}'`).join(', '));
    const seed = config.seed ?? 0;
    check(Number.isInteger(seed), 'seed', seed, 'an integer');
    const anneal = config.anneal ?? 0;
    check(Number.isInteger(anneal) && anneal >= 0, 'anneal', anneal, 'a whole number of steps (0: no annealing)');
    this.config = { p, granularity, channelAxis, minBits, keepBits, pick, seed, anneal };
    this.p = p;
    this.seeds = new SeedStream(seed);
  }

  /** The drop probability in use: `config.p`, or its annealed value at the last {@link seek}. */
  get currentP(): number {
    return this.p;
  }

  /**
   * Samples the number of dropped bits d ∈ [0, b − keepBits] for a tensor of shape `shape`
   * (`P(d ≥ j) = p^j`; one uniform u per sample, `d = #{j ≤ b − keepBits : u < p^j}`), with the
   * configured granularity. Returns an int32 tensor broadcastable to `shape`.
   *
   * @param shape - shape of the quantized tensor
   * @param bits - bit-width b of its grid (1..8)
   * @param seed - seed of this draw (default: the next seed of the stream)
   */
  sample(shape: readonly number[], bits: number, seed = this.seeds.next()): tf.Tensor {
    check(Number.isInteger(bits) && bits >= 1 && bits <= 8, 'bits', bits, 'an integer from 1 to 8');
    return tf.tidy(() => {
      const u = tf.randomUniform(this.sampleShape(shape), 0, 1, 'float32', seed);
      // #{j ≥ 1 : u < p^j} = #{j ≥ 1 : j < log u / log p} = ceil(log u / log p) - 1, clipped to [0, b-1].
      const maxDrop = Math.max(0, bits - this.config.keepBits);
      if (this.p === 0 || maxDrop === 0) return tf.zeros(u.shape, 'int32');
      const t = tf.div(tf.log(u), Math.log(this.p));
      return tf.cast(tf.clipByValue(tf.sub(tf.ceil(t), 1), 0, maxDrop), 'int32');
    });
  }

  /**
   * The mask for one quantizer call in training: per element `{ drop: { p, seed } }` (the
   * quantizer samples d in place — in its fused kernel where the backend has one), per channel or
   * tensor `{ drop: d }` sampled here. `undefined` at inference, for quantizers below `minBits` or
   * of at most `keepBits` bits, and for the symmetric binary grid (no droppable bit).
   */
  mask(quantizer: Quantizer, x: tf.Tensor, training: boolean): CodeMask | undefined {
    const { bits } = quantizer.config;
    if (!training || quantizer.grid.droppableBits === 0 || bits < this.config.minBits || bits <= this.config.keepBits) return undefined;
    const drop = this.config.granularity === 'element' ? { p: this.p, seed: this.seeds.next() } : this.sample(x.shape, quantizer.config.bits);
    if (this.config.pick === 'sample') return { drop, pick: 'sample', seed: this.seeds.next() };
    return this.config.pick === 'full' ? { drop, pick: 'full' } : { drop };
  }

  /**
   * Moves the random stream of the drops to draw `position` (see {@link RegularizedQuantizer.seek})
   * and, with `anneal`, sets p for training step `step`.
   */
  seek(position: number, step?: number): void {
    this.seeds.seek(position);
    if (this.config.anneal > 0 && step !== undefined) this.p = this.config.p * Math.max(0, 1 - step / this.config.anneal);
  }

  private sampleShape(shape: readonly number[]): number[] {
    switch (this.config.granularity) {
      case 'element':
        return [...shape];
      case 'tensor':
        return [];
      case 'channel': {
        const axis = this.config.channelAxis < 0 ? shape.length + this.config.channelAxis : this.config.channelAxis;
        check(axis >= 0 && axis < shape.length, 'channelAxis', this.config.channelAxis, `an axis of the quantized tensor (shape [${shape.join(', ')}])`);
        return shape.map((d, i) => (i === axis ? d : 1));
      }
    }
  }
}
