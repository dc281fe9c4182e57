import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Grid } from './grid';

const BITS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('Grid', () => {
  it.each(BITS)('signed %i-bit grid has codes -2^(b-1)..2^(b-1)-1', (bits) => {
    const g = new Grid({ bits, signed: true });
    const codes = g.codes();
    expect(codes.length).toBe(2 ** bits);
    expect(codes[0]).toBe(-(2 ** (bits - 1)));
    expect(codes.at(-1)).toBe(2 ** (bits - 1) - 1);
    expect(codes.every((k, i) => i === 0 || k - codes[i - 1]! === 1)).toBe(true);
  });

  it.each(BITS)('unsigned %i-bit grid has codes 0..2^b-1', (bits) => {
    const g = new Grid({ bits, signed: false });
    expect(g.codes()).toEqual(Array.from({ length: 2 ** bits }, (_, i) => i));
  });

  it('1-bit signed is {-1, 0}; the symmetric binary grid is {-1, +1}', () => {
    expect(new Grid({ bits: 1 }).codes()).toEqual([-1, 0]);
    const sb = new Grid({ bits: 1, symmetricBinary: true });
    expect(sb.codes()).toEqual([-1, 1]);
    expect(sb.droppableBits).toBe(0);
    expect(() => new Grid({ bits: 2, symmetricBinary: true })).toThrow(/symmetricBinary/);
  });

  it.each(BITS)('bit level of every %i-bit code is its number of trailing zero bits; 0 has the top level', (bits) => {
    for (const signed of [true, false]) {
      const g = new Grid({ bits, signed });
      for (const k of g.codes()) {
        const expected = k === 0 ? bits : Math.log2(Math.abs(k) & -Math.abs(k));
        expect(g.level(k)).toBe(expected);
      }
    }
  });

  it('dropping d bits keeps the (b-d)-bit grid of step 2^d', () => {
    const g = new Grid({ bits: 2 });
    expect(g.keptCodes(1)).toEqual([-2, 0]);
    expect(new Grid({ bits: 2, signed: false }).keptCodes(1)).toEqual([0, 2]);
    for (const bits of BITS.slice(1)) {
      for (const signed of [true, false]) {
        const grid = new Grid({ bits, signed });
        for (let d = 0; d <= grid.droppableBits; d++) {
          const kept = grid.keptCodes(d);
          expect(kept.length).toBe(2 ** (bits - d));
          expect(kept.every((k) => k % 2 ** d === 0)).toBe(true);
        }
      }
    }
    expect(() => g.keptCodes(2)).toThrow(/drop = 2; allowed: an integer from 0 to 1/);
  });

  it('levelsOf matches level() for tensors of codes', () => {
    const g = new Grid({ bits: 5, signed: true });
    const codes = g.codes();
    const levels = tf.tidy(() => g.levelsOf(tf.tensor1d(codes)).arraySync() as number[]);
    expect(levels).toEqual(codes.map((k) => g.level(k)));
  });

  it('nearest rounds and clips, on the full grid and on sub-grids', () => {
    const values = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0); // -0 → 0
    const g = new Grid({ bits: 3, signed: true }); // codes -4..3
    const r = tf.tensor1d([-9, -4.4, -1.2, 0.4, 2.6, 3.4, 7]);
    expect(values(g.nearest(r))).toEqual([-4, -4, -1, 0, 3, 3, 3]);
    // stride 2: codes {-4, -2, 0, 2}; stride 4: {-4, 0}
    expect(values(g.nearest(r, 2))).toEqual([-4, -4, -2, 0, 2, 2, 2]);
    expect(values(g.nearest(r, 4))).toEqual([-4, -4, 0, 0, 0, 0, 0]);
    // per-element stride tensor
    expect(values(g.nearest(tf.tensor1d([2.6, 2.6, 2.6]), tf.tensor1d([1, 2, 4])))).toEqual([3, 2, 0]);
    expect(values(new Grid({ bits: 1, symmetricBinary: true }).nearest(tf.tensor1d([-3, -0.1, 0, 0.2, 5])))).toEqual([
      -1, -1, 1, 1, 1,
    ]);
  });
});
