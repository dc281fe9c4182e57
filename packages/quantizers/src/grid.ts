import * as tf from '@tensorflow/tfjs-core';
import { QuantizerConfigError } from './errors';

/** What defines a grid: a subset of {@link QuantizerConfig}. */
export interface GridSpec {
  bits: number;
  signed?: boolean;
  symmetricBinary?: boolean;
}

/**
 * The integer grid of a b-bit quantizer (specification §1): grid points are `g_k = α·k` for the
 * integer codes k. Signed: `k ∈ [-2^(b-1), 2^(b-1)-1]`; unsigned: `k ∈ [0, 2^b-1]`; the symmetric
 * binary grid has the codes {-1, +1}.
 *
 * Every code has a bit level ℓ(k), the number of trailing zero bits of k (code 0 has the top level
 * b and is never dropped): dropping the lowest d bits keeps the codes with ℓ(k) ≥ d, which is the
 * (b-d)-bit grid of step 2^d·α (specification §4).
 *
 * @example
 * ```ts
 * const g = new Grid({ bits: 2 });
 * g.codes();            // [-2, -1, 0, 1]
 * g.keptCodes(1);       // [-2, 0]
 * ```
 */
export class Grid {
  readonly bits: number;
  readonly signed: boolean;
  readonly symmetricBinary: boolean;
  /** Smallest and largest code. */
  readonly minCode: number;
  readonly maxCode: number;
  /** Distance between neighbouring codes: 1, or 2 for the symmetric binary grid {-1, +1}. */
  readonly step: number;
  /** Number of grid points. */
  readonly size: number;

  constructor(spec: GridSpec) {
    const { bits } = spec;
    if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
      throw new QuantizerConfigError('bits', bits, 'an integer from 1 to 8');
    }
    this.bits = bits;
    this.signed = spec.signed ?? true;
    this.symmetricBinary = spec.symmetricBinary ?? false;
    if (this.symmetricBinary && !(bits === 1 && this.signed)) {
      throw new QuantizerConfigError('symmetricBinary', true, 'only with bits: 1 and signed: true');
    }
    if (this.symmetricBinary) {
      this.minCode = -1;
      this.maxCode = 1;
      this.step = 2;
    } else if (this.signed) {
      this.minCode = -(2 ** (bits - 1));
      this.maxCode = 2 ** (bits - 1) - 1;
      this.step = 1;
    } else {
      this.minCode = 0;
      this.maxCode = 2 ** bits - 1;
      this.step = 1;
    }
    this.size = (this.maxCode - this.minCode) / this.step + 1;
  }

  /** Number of low bits that can be dropped: b-1 (0 for the symmetric binary grid). */
  get droppableBits(): number {
    return this.symmetricBinary ? 0 : this.bits - 1;
  }

  /** All codes, ascending. */
  codes(): number[] {
    return Array.from({ length: this.size }, (_, i) => this.minCode + i * this.step);
  }

  /** Bit level ℓ(k): trailing zero bits of k; code 0 has the top level `bits`. */
  level(code: number): number {
    if (code === 0) return this.bits;
    if (this.symmetricBinary) return 0;
    let k = Math.abs(code);
    let l = 0;
    while (k % 2 === 0) {
      k /= 2;
      l += 1;
    }
    return l;
  }

  /** The codes kept when the lowest `drop` bits are dropped (those with ℓ(k) ≥ drop). */
  keptCodes(drop: number): number[] {
    if (!Number.isInteger(drop) || drop < 0 || drop > this.droppableBits) {
      throw new QuantizerConfigError('drop', drop, `an integer from 0 to ${this.droppableBits} for a ${this.bits}-bit grid`);
    }
    return this.codes().filter((k) => this.level(k) >= drop);
  }

  /**
   * Bit levels of a tensor of codes (any shape, float or int), as float32: a lookup in the level
   * table, so the cost is one gather whatever the bits. Codes outside the grid (window points past
   * its end) get the level of the nearest end.
   */
  levelsOf(codes: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.gather(tf.tensor1d(this.codes().map((k) => this.level(k)), 'float32'), this.indexOf(codes)));
  }

  /** Int32 index (0..size-1) of each code of a tensor, clipped to the grid. */
  indexOf(codes: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.cast(tf.clipByValue(tf.div(tf.sub(codes, this.minCode), this.step), 0, this.size - 1), 'int32'));
  }

  /**
   * Nearest code to `r = x/α`, clipped to the grid: `clip(round(r), k_min, k_max)` — the
   * inference rule of specification §1. With `stride = 2^d` (a number or a tensor broadcastable to
   * r) the nearest code of the sub-grid that keeps the codes with ℓ(k) ≥ d.
   * Returns float32 codes.
   */
  nearest(r: tf.Tensor, stride?: tf.Tensor | number): tf.Tensor {
    return tf.tidy(() => {
      if (this.symmetricBinary) {
        // {-1, +1}; ties (r = 0) go to +1.
        return tf.clipByValue(tf.add(tf.mul(tf.floor(tf.div(r, 2)), 2), 1), -1, 1);
      }
      if (stride === undefined || stride === 1) {
        return tf.clipByValue(tf.round(r), this.minCode, this.maxCode);
      }
      const { lo, hi } = this.subgridRange(stride);
      const index = tf.minimum(tf.maximum(tf.round(tf.div(r, stride)), lo), hi);
      return tf.mul(index, stride);
    });
  }

  /**
   * Index range `[lo, hi]` of the sub-grid of stride s: its codes are `s·i` for `i ∈ [lo, hi]`,
   * `lo = ceil(minCode/s)`, `hi = floor(maxCode/s)`.
   */
  subgridRange(stride: tf.Tensor | number): { lo: tf.Tensor | number; hi: tf.Tensor | number } {
    if (typeof stride === 'number') {
      return { lo: Math.ceil(this.minCode / stride), hi: Math.floor(this.maxCode / stride) };
    }
    return {
      lo: tf.ceil(tf.div(this.minCode, stride)),
      hi: tf.floor(tf.div(this.maxCode, stride)),
    };
  }
}
