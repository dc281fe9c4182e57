import * as tf from '@tensorflow/tfjs-core';
import { Quantizer } from '@srq/quantizers';
import { describe, expect, it } from 'vitest';
import { BitGates } from './bit-gates';
import { bitBudgetPenalty, fitBitBudget } from './budget';
import { DropBitsConfigError } from './errors';
import { regularize } from './regularized-quantizer';

function setLogits(gates: BitGates, values: number[]): void {
  gates.logA.assign(tf.tensor1d(values.map((v) => v / gates.config.lrScale)));
}

describe('BitGates', () => {
  it('penalty() is the expected bit count, with a non-zero gradient for every gate logit', () => {
    const gates = new BitGates({ bits: 5, init: 0.5 });
    const grad = tf.variableGrads(() => gates.penalty(), [gates.logA]).grads[gates.logA.name]!;
    expect(grad.shape).toEqual([4]);
    expect(Array.from(grad.dataSync()).every((v) => v > 1e-3)).toBe(true); // more open gates → more bits
    setLogits(gates, [10, 10, 10, 10]);
    expect(gates.penalty().dataSync()[0]).toBeCloseTo(5, 2);
    setLogits(gates, [-10, -10, -10, -10]);
    expect(gates.penalty().dataSync()[0]).toBeCloseTo(1, 2);
  });

  it('keeps bits nested from the top: a closed gate drops its bit and every bit below it', () => {
    const gates = new BitGates({ bits: 4 });
    setLogits(gates, [6, -6, 6]); // gates of bits 1, 2, 3
    expect(Array.from(gates.keep(false).dataSync())).toEqual([0, 0, 1]);
    expect(gates.learnedBits()).toBe(2);
    const q = new Quantizer({ bits: 4 });
    expect(gates.keptCodes(q.grid)).toEqual([-8, -4, 0, 4]);
    expect(gates.inferenceMask(q)).toEqual({ drop: 2 });
    setLogits(gates, [6, 6, 6]);
    expect(gates.learnedBits()).toBe(4);
    const sampled = Array.from(gates.keep(true).dataSync());
    expect(sampled.every((v, j) => j === 0 || v >= sampled[j - 1]!)).toBe(true);
  });

  it('gradients reach the gate logits: ∂x̂/∂keep_j is the residual between neighbouring sub-grid roundings', () => {
    const q = new Quantizer({ bits: 4 });
    const w = tf.randomNormal([2000], 0, 1, 'float32', 1);
    q.init(w);
    const gates = new BitGates({ bits: 4, init: 1, seed: 3 });
    const dy = tf.randomNormal([2000], 0, 1, 'float32', 2);
    // dL/dkeep_j = Σ dy·(r_(j-1) - r_j) for the gates that are on: checked against the roundings directly
    const keep = tf.variable(tf.tensor1d([0.3, 0.6, 0.8]));
    const fixedKeep = () => keep;
    const original = gates.keep.bind(gates);
    gates.keep = fixedKeep as typeof gates.keep;
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(gates.apply(q, w, true), dy)) as tf.Scalar, [keep]);
    gates.keep = original;
    const r = [0, 1, 2, 3].map((d) => q.apply(w, { training: false, mask: { drop: d } }));
    const expected = [1, 2, 3].map((j) => tf.sum(tf.mul(dy, tf.sub(r[j - 1]!, r[j]!))).dataSync()[0]!);
    Array.from(grads[keep.name]!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 3));
    // and through the hard-concrete samples to log a
    const total = tf.variableGrads(() => tf.sum(tf.mul(gates.apply(q, w, true), dy)) as tf.Scalar, [gates.logA]).grads[gates.logA.name]!;
    expect(total.shape).toEqual([3]);
  });

  it('with binary sampled gates, every output is the nearest code of the kept sub-grid of that step', () => {
    const q = new Quantizer({ bits: 6 });
    const w = tf.randomNormal([3000], 0, 1, 'float32', 7);
    q.init(w);
    const alpha = q.alpha().dataSync()[0]!;
    const gates = new BitGates({ bits: 6, seed: 11 });
    const patterns = [[9, 9, 9, 9, 9], [-9, 9, 9, 9, 9], [9, 9, -9, 9, 9], [9, 9, 9, 9, -9], [-9, -9, -9, -9, -9]];
    for (const pattern of patterns) {
      setLogits(gates, pattern); // |log a| = 9: the sampled gates are exactly 0 or 1
      let drop = -1;
      const out = gates.apply(q, w, true, (d) => (drop = d.dataSync()[0]!));
      expect(drop).toBe(pattern.lastIndexOf(-9) + 1); // a closed gate drops its bit and all below
      const nearest = q.apply(w, { training: false, mask: { drop } }).dataSync();
      expect(Array.from(out.dataSync(), (v) => v + 0)).toEqual(Array.from(nearest, (v) => v + 0));
      expect(Array.from(out.dataSync(), (v) => Math.round(v / alpha)).every((k) => k % 2 ** drop === 0)).toBe(true);
    }
  });

  it('rejects a gate set built for 4 bits on a 2-bit quantizer, and bad configs', () => {
    const gates = new BitGates({ bits: 4 });
    const q2 = new Quantizer({ bits: 2 });
    expect(() => gates.apply(q2, tf.zeros([3]), true)).toThrow(DropBitsConfigError);
    expect(() => gates.apply(q2, tf.zeros([3]), true)).toThrow(/quantizer.bits = 2; allowed: 4 \(these gates were built for a 4-bit grid\)/);
    expect(() => regularize(q2, gates)).toThrow(DropBitsConfigError);
    expect(() => new BitGates({ bits: 0 })).toThrow(/bits = 0; allowed: an integer from 1 to 8/);
    expect(() => new BitGates({ bits: 4, lambda: -1 })).toThrow(/lambda = -1/);
    expect(() => new BitGates({ bits: 4, targetBits: 5 })).toThrow(/targetBits = 5; allowed: a number from 1 to 4/);
    expect(() => new BitGates({ bits: 4, minBits: 0 })).toThrow(/minBits = 0; allowed: an integer from 1 to 8/);
    expect(() => new BitGates({ bits: 4, minBits: 2.5 })).toThrow(/minBits = 2.5/);
  });

  it('minBits: the gates stop at the floor — fewer gates, the penalty counts the floor, all gates closed learn minBits', () => {
    const gates = new BitGates({ bits: 4, minBits: 2 });
    expect(gates.size).toBe(2);
    expect(gates.logA.shape).toEqual([2]);
    setLogits(gates, [-9, -9]);
    expect(gates.learnedBits()).toBe(2);
    expect(gates.penalty().dataSync()[0]).toBeCloseTo(2, 2);
    expect(gates.lowestKeptLogit()).toBeNull();
    expect(gates.dropLowestBit()).toBe(false);
    const q = new Quantizer({ bits: 4 });
    expect(gates.keptCodes(q.grid)).toEqual([-8, -4, 0, 4]); // the 2-bit sub-grid, signed: both signs
    setLogits(gates, [-9, 9]);
    expect(gates.learnedBits()).toBe(3);
    expect(gates.penalty().dataSync()[0]).toBeCloseTo(3, 2);
    // training: with the lower gate closed and the upper open, the nearest code of the 3-bit sub-grid
    const w = tf.randomNormal([500], 0, 1, 'float32', 3);
    q.init(w);
    let drop = -1;
    const out = gates.apply(q, w, true, (d) => (drop = d.dataSync()[0]!));
    expect(drop).toBe(1);
    expect(Array.from(out.dataSync(), (v) => v + 0)).toEqual(Array.from(q.apply(w, { training: false, mask: { drop: 1 } }).dataSync(), (v) => v + 0));
    // a floor at or above the bits leaves no gates: the nominal bits
    const none = new BitGates({ bits: 2, minBits: 2 });
    expect([none.size, none.learnedBits(), none.penalty().dataSync()[0]]).toEqual([0, 2, 2]);
    expect(new BitGates({ bits: 1, minBits: 2 }).learnedBits()).toBe(1);
    expect(none.apply(new Quantizer({ bits: 2 }), w, true).shape).toEqual([500]);
  });
});

describe('learning bit-widths on a toy regression', () => {
  /**
   * y = x·W with W on the 2-bit sub-grid {-8, -4, 0, 4}·α of a 4-bit grid: the task does not need
   * the two low bits. 300 Adam steps on the gate logits (and on w when `trainWeights`); α, σ fixed.
   */
  function train(options: { lambda: number; targetBits?: number; trainWeights: boolean }) {
    const alpha = 0.25;
    const x = tf.randomNormal([256, 8], 0, 1, 'float32', 1);
    const codes = [-8, 4, 0, -4, 4, -8, 0, 4];
    const wTrue = tf.tensor2d(codes.map((k) => k * alpha), [8, 1]);
    const y = tf.matMul(x, wTrue);
    const w = tf.variable(tf.add(wTrue, tf.randomNormal([8, 1], 0, 0.03, 'float32', 2)));
    const q = new Quantizer({ bits: 4 });
    q.build(w.shape);
    q.logAlpha!.assign(tf.scalar(Math.log(alpha)));
    q.markInitialized();
    const gates = new BitGates({ bits: 4, lambda: options.lambda, targetBits: options.targetBits, init: 2, seed: 5, lrScale: 1 });
    const opt = tf.train.adam(0.05);
    const taskLoss = (training: boolean) => tf.losses.meanSquaredError(y, tf.matMul(x, gates.apply(q, w, training)));
    const vars = options.trainWeights ? [w, gates.logA] : [gates.logA];
    for (let step = 0; step < 300; step++) opt.minimize(() => tf.add(taskLoss(true), gates.regularization()) as tf.Scalar, false, vars);
    const loss = tf.tidy(() => taskLoss(false).dataSync()[0]!);
    const result = { bits: gates.learnedBits(), loss, penalty: gates.penalty().dataSync()[0]!, logA: gates.logits() };
    console.info(`toy regression ${JSON.stringify(options)}: ${JSON.stringify(result)}`);
    return result;
  }

  it('λ > 0 learns the two bits the task needs, training weights and gates together, and fits', () => {
    const { bits, loss, penalty } = train({ lambda: 0.05, trainWeights: true });
    expect(bits).toBe(2);
    expect(penalty).toBeLessThan(2.5);
    expect(loss).toBeLessThan(1e-3);
  });

  it('gates alone: λ > 0 drops the two low bits and keeps the needed one', () => {
    const { bits, loss, logA } = train({ lambda: 0.05, trainWeights: false });
    expect(bits).toBe(2);
    expect(logA[2]).toBeGreaterThan(2); // the gate of bit 3 (codes ±4) was pushed up by the task
    expect(loss).toBeLessThan(1e-3);
  });

  it('gates alone: λ = 0 keeps all four bits', () => {
    const { bits, penalty } = train({ lambda: 0, trainWeights: false });
    expect(bits).toBe(4);
    expect(penalty).toBeGreaterThan(3.5);
  });

  it('a budget of 3 bits stops the pressure once the expected bits reach it', () => {
    const budget = train({ lambda: 0.5, targetBits: 3, trainWeights: false });
    const free = train({ lambda: 0.5, trainWeights: false });
    expect(budget.penalty).toBeLessThanOrEqual(3.05);
    expect(budget.penalty).toBeGreaterThan(free.penalty + 0.3);
    expect(budget.bits).toBeGreaterThanOrEqual(2);
  });
});

describe('BitGates annealing', () => {
  it('sharpens the gate logits by annealFactor^(step/anneal) from seek(position, step), never past the factor', () => {
    const gates = new BitGates({ bits: 4, anneal: 100, annealFactor: 16, lrScale: 1 });
    setLogits(gates, [0.5, -0.5, 2]);
    for (const [step, scale] of [[0, 1], [50, 4], [100, 16], [250, 16]] as const) {
      gates.seek(step * 64, step);
      expect(gates.annealScale).toBeCloseTo(scale, 10);
      expect(gates.logits()).toEqual([0.5, -0.5, 2].map((v) => expect.closeTo(v * scale, 5)));
    }
    expect(gates.learnedBits()).toBe(2); // the sign decides, whatever the sharpness
    const plain = new BitGates({ bits: 4 });
    plain.seek(640, 10);
    expect(plain.annealScale).toBe(1);
    expect(() => new BitGates({ bits: 4, anneal: 1.5 })).toThrow(/anneal = 1.5/);
    expect(() => new BitGates({ bits: 4, annealFactor: 0.5 })).toThrow(/annealFactor = 0.5/);
  });

  it('sharpened, the sampled gates are the deterministic ones and the expected bits are the learned bits', () => {
    const gates = new BitGates({ bits: 4, anneal: 1, annealFactor: 30, lrScale: 1, seed: 3 });
    setLogits(gates, [-0.4, 0.4, 1]); // learned: bits 2 and 3 on, bit 1 off → 3 bits
    const agree = (n: number) => {
      let same = 0;
      const det = Array.from(gates.keep(false).dataSync()).map((v) => (v > 0.5 ? 1 : 0));
      for (let i = 0; i < n; i++) if (Array.from(gates.keep(true).dataSync()).every((v, j) => (v > 0.5 ? 1 : 0) === det[j])) same++;
      return same / n;
    };
    const soft = { agree: agree(200), penalty: gates.penalty().dataSync()[0]! };
    gates.seek(64, 1);
    const sharp = { agree: agree(200), penalty: gates.penalty().dataSync()[0]! };
    expect(gates.learnedBits()).toBe(3);
    expect(soft.agree).toBeLessThan(0.6);
    expect(sharp.agree).toBeGreaterThan(0.97);
    expect(Math.abs(soft.penalty - 3)).toBeGreaterThan(0.2);
    expect(Math.abs(sharp.penalty - 3)).toBeLessThan(0.05);
  });

  it('a model-wide budget of 2.5 average bits lands on the learned bits when the gates anneal', () => {
    // six 4-bit gate sets whose task rewards each kept bit (more for later sets) against one budget
    const run = (anneal: boolean) => {
      const steps = 300;
      const sets = Array.from({ length: 6 }, (_, q) => new BitGates({ bits: 4, init: 2, lrScale: 1, seed: 10 + q, ...(anneal ? { anneal: steps } : {}) }));
      const opt = tf.train.adam(0.05);
      const vars = sets.map((g) => g.logA);
      for (let step = 0; step < steps; step++) {
        for (const g of sets) g.seek(step * 64, step);
        opt.minimize(() => tf.tidy(() => {
          const reward = sets.map((g, q) => tf.mul(-0.01 * (q + 1), tf.sum(g.keep(true))));
          return tf.add(tf.addN(reward), bitBudgetPenalty(sets, { lambda: 1, targetBits: 2.5 })) as tf.Scalar;
        }), false, vars);
      }
      const learned = sets.reduce((a, g) => a + g.learnedBits(), 0) / sets.length;
      const expected = sets.reduce((a, g) => a + g.penalty().dataSync()[0]!, 0) / sets.length;
      console.info(`budget 2.5, anneal ${anneal}: learned average ${learned.toFixed(3)}, expected ${expected.toFixed(3)}`);
      return { learned, expected };
    };
    const annealed = run(true);
    expect(annealed.learned).toBeLessThanOrEqual(2.5);
    expect(annealed.learned).toBeGreaterThanOrEqual(2.5 - 1 / 6 - 1e-9); // as close as whole bits of six sets allow
    expect(Math.abs(annealed.learned - annealed.expected)).toBeLessThan(0.1);
    const plain = run(false);
    expect(Math.abs(plain.learned - plain.expected)).toBeGreaterThan(Math.abs(annealed.learned - annealed.expected));
  });
});

describe('BitGates lrScale', () => {
  it('moves the gate logits lrScale times faster under Adam: at 1e-3 the default (30) drops bits within 150 steps, lrScale 1 does not', () => {
    const run = (lrScale?: number) => {
      const gates = new BitGates({ bits: 4, lambda: 1, ...(lrScale ? { lrScale } : {}) });
      expect(gates.logits()).toEqual([3, 3, 3].map((v) => expect.closeTo(v, 5)));
      const opt = tf.train.adam(1e-3);
      for (let step = 0; step < 150; step++) opt.minimize(() => gates.regularization(), false, [gates.logA]);
      return { bits: gates.learnedBits(), top: gates.logits()[2]! };
    };
    const fast = run();
    const slow = run(1);
    expect(fast.bits).toBe(1);
    expect(fast.top).toBeLessThan(-1);
    expect(slow.bits).toBe(4);
    expect(slow.top).toBeGreaterThan(2.8);
  });
});

describe('bitBudgetPenalty', () => {
  it('sums λ·E[bits] without a target and counts only the excess over an average or a size budget', () => {
    const a = new BitGates({ bits: 4 });
    const b = new BitGates({ bits: 2 });
    setLogits(a, [20, 20, 20]); // 4 bits
    setLogits(b, [20]); // 2 bits
    expect(bitBudgetPenalty([a, b], { lambda: 0.5 }).dataSync()[0]).toBeCloseTo(3, 3);
    expect(bitBudgetPenalty([a, b], { lambda: 1, targetBits: 2.5 }).dataSync()[0]).toBeCloseTo(0.5, 3);
    expect(bitBudgetPenalty([a, b], { lambda: 1, targetBits: 3.5 }).dataSync()[0]).toBeCloseTo(0, 5);
    // 100 weights at 4 bits + 300 at 2 bits = 1000 bits = 125 bytes; budget 100 bytes = 2 bits per weight
    expect(bitBudgetPenalty([a, b], { lambda: 1, sizes: [100, 300], targetBytes: 100 }).dataSync()[0]).toBeCloseTo(0.5, 3);
    setLogits(a, [0, 0, 0]);
    setLogits(b, [0]);
    const { grads } = tf.variableGrads(() => bitBudgetPenalty([a, b], { lambda: 1, targetBits: 1 }), [a.logA, b.logA]);
    for (const v of [a.logA, b.logA]) expect(Array.from(grads[v.name]!.dataSync()).every((g) => g > 0)).toBe(true);
    expect(() => bitBudgetPenalty([a, b], { lambda: 1, targetBytes: 10 })).toThrow(/targetBytes = 10; allowed: only together with sizes/);
  });
});

describe('fitBitBudget', () => {
  it('drops the least certain kept bits, lowest first, until the learned bits keep the budget', () => {
    const a = new BitGates({ bits: 4 });
    const b = new BitGates({ bits: 4 });
    const c = new BitGates({ bits: 2 });
    setLogits(a, [0.3, 2, 5]); // 4 bits; its lowest kept bit (gate 1) is the least certain of all
    setLogits(b, [-1, 0.8, 4]); // 3 bits (gate 1 off); next to drop: gate 2 at 0.8
    setLogits(c, [1.5]); // 2 bits
    expect(fitBitBudget([a, b, c], { targetBits: 3 })).toBe(0); // (4 + 3 + 2)/3 = 3: kept
    expect(fitBitBudget([a, b, c], { targetBits: 2.5 })).toBe(2); // a's gate 1 (0.3), then b's gate 2 (0.8)
    expect([a.learnedBits(), b.learnedBits(), c.learnedBits()]).toEqual([3, 2, 2]);
    expect(a.logits()[0]).toBeCloseTo(-0.1, 5);
    expect(b.logits()[1]).toBeCloseTo(-0.1, 5);
    expect(a.logits()[1]).toBeCloseTo(2, 5); // the other gates are untouched
    // weighted by size (100, 100 and 1000 elements at 3, 2 and 2 bits: 2.08 average): c's bit (logit 1.5) goes
    expect(fitBitBudget([a, b, c], { targetBits: 2, sizes: [100, 100, 1000] })).toBe(1);
    expect([a.learnedBits(), b.learnedBits(), c.learnedBits()]).toEqual([3, 2, 1]);
    expect(fitBitBudget([a, b, c], { targetBits: 1 })).toBe(3); // down to 1 bit everywhere, no further
    expect([a, b, c].map((g) => g.learnedBits())).toEqual([1, 1, 1]);
  });

  it("never drops a bit below a gate set's minBits: the budget stays unmet when only floors are left", () => {
    const w = new BitGates({ bits: 4, minBits: 2 });
    const a = new BitGates({ bits: 4 });
    setLogits(w, [0.1, 0.2]); // the least certain gates of all, but only two bits above the floor
    setLogits(a, [3, 3, 3]);
    expect(fitBitBudget([w, a], { targetBits: 1 })).toBe(5);
    expect([w.learnedBits(), a.learnedBits()]).toEqual([2, 1]);
  });
});
