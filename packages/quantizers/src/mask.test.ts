// Gradients into mask weights flow through ordinary tfjs ops (gather, mul) outside the quantizer,
// so this file registers the op gradients the way applications do: by importing tfjs-layers.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Grid } from './grid';
import { quantize } from './quantize';
import { normals, referenceProbs, referenceWindow } from './test-reference';

describe('mask weights', () => {
  it('srq passes gradients to soft per-level weights (finite differences of the float64 reference)', () => {
    const grid = new Grid({ bits: 4 });
    const alpha = 0.2;
    const rho = Math.log(0.5);
    const levelWeights = [0.6, 0.8, 0.9, 1, 1]; // weight of bit levels 0..3, and of code 0 (level 4)
    const n = 40;
    const x = Array.from(normals(n, 4, 0.8), Math.fround);
    const dy = Array.from(normals(n, 5, 1));
    const levelTable = (w: tf.Tensor) => (codes: tf.Tensor) => tf.gather(w, tf.cast(grid.levelsOf(codes), 'int32'));
    const f = (w: tf.Tensor) =>
      quantize(tf.tensor1d(x), { logAlpha: tf.scalar(Math.log(alpha)), logSigma: tf.scalar(rho) }, { bits: 4 }, {
        training: true,
        mask: { weights: levelTable(w) },
      });
    const g = Array.from(tf.grad(f)(tf.tensor1d(levelWeights), tf.tensor1d(dy)).dataSync());

    const la0 = Math.fround(Math.log(alpha));
    const a0 = Math.exp(la0);
    const s0 = Math.exp(la0 + Math.fround(rho));
    const F = (w: number[]) =>
      x.reduce((sum, x0, j) => {
        const codes = referenceWindow(grid, x0 / a0, 5);
        const probs = referenceProbs(x0, a0, s0, codes, 1, codes.map((k) => w[grid.level(k)]!));
        return sum + dy[j]! * a0 * probs.reduce((s, p, i) => s + p * codes[i]!, 0);
      }, 0);
    const h = 1e-6;
    levelWeights.forEach((_, l) => {
      const up = [...levelWeights];
      const down = [...levelWeights];
      up[l]! += h;
      down[l]! -= h;
      const ref = (F(up) - F(down)) / (2 * h);
      expect(Math.abs(g[l]! - ref)).toBeLessThan(2e-3 * (1 + Math.abs(ref)));
    });
    expect(g.slice(0, 3).some((v) => Math.abs(v) > 1e-2)).toBe(true);
  });

  it('a zero weight removes the code from the output and from the distribution', () => {
    const grid = new Grid({ bits: 3 });
    const x = tf.tensor1d([0.9, 1.1, -2.9, 2.2]);
    const weights = tf.tensor1d(grid.codes().map((k) => (k === 1 || k === -3 ? 0 : 1)));
    const out = quantize(x, { logAlpha: tf.scalar(0), logSigma: tf.scalar(Math.log(1 / 3)) }, { bits: 3 }, { training: true, mask: weights });
    expect(Array.from(out.dataSync())).toEqual([0, 2, -2, 2]);
  });

  it('rejects a per-code weight tensor of the wrong length', () => {
    const x = tf.tensor1d([0.1]);
    expect(() =>
      quantize(x, { logAlpha: tf.scalar(0), logSigma: tf.scalar(0) }, { bits: 3 }, { training: true, mask: tf.ones([4]) }),
    ).toThrow(/mask.weights = "tensor of shape \[4\]"; allowed: a 1-D tensor with one weight per code \(8 for this grid\)/);
  });
});
