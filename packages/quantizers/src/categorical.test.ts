import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gridProbabilities, gridWindow } from './categorical';
import { Grid } from './grid';
import { normals, referenceProbs, referenceWindow } from './test-reference';

function rows(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

describe('categorical distribution over the grid', () => {
  it.each([1, 2, 3, 4])('sums to 1 and equals the direct full-grid formula within 1e-5 (%i bits)', (bits) => {
    for (const signed of [true, false]) {
      const grid = new Grid({ bits, signed });
      const alpha = 0.25;
      const sigma = alpha / 3;
      const xs = Array.from(normals(200, bits * 7 + (signed ? 1 : 0), alpha * 2 ** (bits - 1)));
      const { codes, probs } = gridProbabilities(tf.tensor1d(xs), alpha, sigma, grid);
      const c = rows(codes);
      const p = rows(probs);
      xs.forEach((x, i) => {
        expect(c[i]).toEqual(grid.codes());
        expect(p[i]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        const ref = referenceProbs(x, alpha, sigma, grid.codes());
        p[i]!.forEach((v, j) => expect(Math.abs(v - ref[j]!)).toBeLessThan(1e-5));
      });
    }
  });

  it('is truncated to the grid and renormalised at both ends (RQ eq. 4)', () => {
    const grid = new Grid({ bits: 2, signed: true }); // codes -2..1
    const alpha = 1;
    const sigma = 1 / 3;
    const xs = [-2.9, -2.6, 1.6, 2.2, 3.5]; // all beyond the outer cell edges -2.5 and 1.5
    const p = rows(gridProbabilities(tf.tensor1d(xs), alpha, sigma, grid).probs);
    xs.forEach((x, i) => {
      const ref = referenceProbs(x, alpha, sigma, grid.codes());
      p[i]!.forEach((v, j) => expect(v).toBeCloseTo(ref[j]!, 5));
      // beyond the ends the mass is renormalised onto the grid: the end cell carries most of it
      const end = x < 0 ? 0 : grid.size - 1;
      expect(p[i]![end]).toBeGreaterThan(0.9);
      expect(p[i]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    });
  });

  it('stays finite and normalised far out in both tails, where sigmoid differences cancel in float32', () => {
    const { probs } = gridProbabilities(tf.tensor1d([-1e3, -40, 40, 1e3]), 1, 0.05, { bits: 3 });
    const p = rows(probs);
    for (const row of p) {
      expect(row.every(Number.isFinite)).toBe(true);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(p[0]![0]).toBeCloseTo(1, 5);
    expect(p[3]!.at(-1)).toBeCloseTo(1, 5);
  });

  it('the local window holds the W nearest grid points, shifted inwards at the ends', () => {
    const grid = new Grid({ bits: 4, signed: true }); // -8..7
    const xs = [-20, -8.2, -7.6, -0.4, 0.3, 3.49, 6.9, 30];
    for (const size of [2, 3, 4, 5, 8]) {
      const c = rows(gridWindow(grid, tf.tensor1d(xs), size).codes);
      xs.forEach((r, i) => expect(c[i]).toEqual(referenceWindow(grid, r, size)));
    }
  });

  it('the windowed distribution is the full one truncated to the window and renormalised', () => {
    const grid = new Grid({ bits: 6, signed: true });
    const alpha = 0.1;
    const sigma = 0.04;
    const xs = Array.from(normals(300, 3, 1.5));
    const { codes, probs } = gridProbabilities(tf.tensor1d(xs), alpha, sigma, grid, { window: 5 });
    expect(codes.shape).toEqual([300, 5]);
    const c = rows(codes);
    const p = rows(probs);
    xs.forEach((x, i) => {
      const ref = referenceProbs(x, alpha, sigma, c[i]!);
      p[i]!.forEach((v, j) => expect(Math.abs(v - ref[j]!)).toBeLessThan(1e-5));
    });
  });

  it('a window on the sub-grid of stride 2^d holds the nearest kept codes', () => {
    const grid = new Grid({ bits: 8, signed: true });
    const xs = [-130, -77.3, -1.2, 0.4, 63.9, 126.7, 300];
    for (const d of [1, 3, 7]) {
      const win = gridWindow(grid, tf.tensor1d(xs), 5, 2 ** d);
      const c = rows(win.codes);
      const valid = win.valid ? (win.valid.arraySync() as number[][]) : null;
      xs.forEach((r, i) => {
        const kept = c[i]!.filter((_, j) => !valid || valid[i]![j]);
        expect(kept).toEqual(referenceWindow(grid, r, 5, d));
      });
    }
  });
});
