import * as tf from '@tensorflow/tfjs-core';
import { Quantizer } from '@srq/quantizers';
import { describe, expect, it } from 'vitest';
import { DropBits } from './drop-bits';
import { DropBitsConfigError } from './errors';
import { regularize } from './regularized-quantizer';

/** `P(d = k)`: `p^k - p^(k+1)` for k < b-1, `p^(b-1)` for the last. */
const expected = (p: number, bits: number) => Array.from({ length: bits }, (_, d) => (d === bits - 1 ? p ** d : p ** d - p ** (d + 1)));

function histogram(d: tf.Tensor, bits: number): number[] {
  const counts = new Array<number>(bits).fill(0);
  for (const v of d.dataSync()) counts[v]! += 1;
  return counts.map((c) => c / d.size);
}

describe('DropBits sampling', () => {
  const N = 100_000;
  it.each([0.1, 0.3, 0.5].flatMap((p) => [2, 3, 4, 8].map((bits) => [p, bits] as const)))(
    'p = %f, b = %i: the frequency of each d matches p^d - p^(d+1) within 4 standard errors',
    (p, bits) => {
      const d = new DropBits({ p, seed: 17 }).sample([N], bits);
      expect(d.dtype).toBe('int32');
      const freq = histogram(d, bits);
      console.info(`measured drop frequencies p=${p} b=${bits} N=${N}: ${JSON.stringify(freq.map((f) => +f.toFixed(5)))} expected ${JSON.stringify(expected(p, bits).map((f) => +f.toFixed(5)))}`);
      expected(p, bits).forEach((P, k) => {
        const se = Math.sqrt((P * (1 - P)) / N);
        expect(Math.abs(freq[k]! - P), `d = ${k}`).toBeLessThanOrEqual(4 * se + 1e-12);
      });
    },
  );

  it('draws one d per element, per channel, or per tensor', () => {
    const shape = [3, 3, 16, 32];
    expect(new DropBits({ p: 0.3 }).sample(shape, 4).shape).toEqual(shape);
    expect(new DropBits({ p: 0.3, granularity: 'channel' }).sample(shape, 4).shape).toEqual([1, 1, 1, 32]);
    expect(new DropBits({ p: 0.3, granularity: 'channel', channelAxis: 2 }).sample(shape, 4).shape).toEqual([1, 1, 16, 1]);
    expect(new DropBits({ p: 0.3, granularity: 'tensor' }).sample(shape, 4).shape).toEqual([]);
  });

  it('is reproducible from the seed, and each call draws anew', () => {
    const a = new DropBits({ p: 0.5, seed: 3 });
    const b = new DropBits({ p: 0.5, seed: 3 });
    const first = Array.from(a.sample([1000], 4).dataSync());
    expect(Array.from(b.sample([1000], 4).dataSync())).toEqual(first);
    expect(Array.from(a.sample([1000], 4).dataSync())).not.toEqual(first);
    expect(Array.from(new DropBits({ p: 0.5, seed: 4 }).sample([1000], 4).dataSync())).not.toEqual(first);
  });

  it('p = 0 never drops', () => {
    expect(Array.from(new DropBits({ p: 0 }).sample([1000], 8).dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('anneal: p falls linearly to 0 over the given steps, set by seek(position, step); without it p stays', () => {
    const annealed = new DropBits({ p: 0.4, anneal: 100, seed: 5 });
    const constant = new DropBits({ p: 0.4, seed: 5 });
    for (const [step, p] of [[0, 0.4], [25, 0.3], [50, 0.2], [100, 0], [150, 0]] as const) {
      annealed.seek(step * 64, step);
      constant.seek(step * 64, step);
      expect(annealed.currentP, `step ${step}`).toBeCloseTo(p, 12);
      expect(constant.currentP).toBe(0.4);
    }
    annealed.seek(50 * 64, 50);
    const dropped = (d: DropBits) => Array.from(d.sample([20_000], 4).dataSync()).filter((v) => v > 0).length / 20_000;
    constant.seek(50 * 64, 50);
    expect(dropped(annealed)).toBeCloseTo(0.2, 1); // P(d ≥ 1) = p
    expect(dropped(constant)).toBeCloseTo(0.4, 1);
    annealed.seek(100 * 64, 100);
    expect(dropped(annealed)).toBe(0);
    expect(() => new DropBits({ p: 0.1, anneal: -1 })).toThrow(/anneal = -1; allowed: a whole number of steps/);
  });
});

describe('DropBits with a quantizer', () => {
  it('every srq output lies on the (b-d)-bit sub-grid of its element, at its nearest kept code', () => {
    for (const bits of [2, 3, 4, 8]) {
      const q = new Quantizer({ bits });
      const w = tf.randomNormal([4000], 0, 1, 'float32', bits);
      q.init(w);
      const alpha = q.alpha().dataSync()[0]!;
      const drops = new DropBits({ p: 0.5, seed: bits }).sample(w.shape, bits);
      const mask = { drop: drops };
      const d = drops.dataSync();
      const y = q.apply(w, { training: true, mask }).dataSync();
      const x = w.dataSync();
      expect(new Set(d).size).toBeGreaterThan(1);
      y.forEach((v, i) => {
        const code = Math.round(v / alpha) + 0;
        const kept = q.grid.keptCodes(d[i]!);
        expect(kept).toContain(code);
        const nearest = kept.reduce((a, b) => (Math.abs(b - x[i]! / alpha) < Math.abs(a - x[i]! / alpha) ? b : a));
        expect(code).toBe(nearest + 0);
      });
    }
  });

  it('drops nothing at inference', () => {
    const q = new Quantizer({ bits: 4 });
    const w = tf.randomNormal([500], 0, 1, 'float32', 1);
    const dropBits = new DropBits({ p: 0.9 });
    expect(dropBits.mask(q, w, false)).toBeUndefined();
    const r = regularize(q, dropBits);
    expect(Array.from(r.apply(w, { training: false }).dataSync())).toEqual(Array.from(q.apply(w, { training: false }).dataSync()));
    expect(Array.from(r.apply(w, { training: true }).dataSync())).not.toEqual(Array.from(q.apply(w, { training: false }).dataSync()));
  });

  it('minBits leaves narrower quantizers alone; the symmetric binary grid has nothing to drop', () => {
    const w = tf.randomNormal([100]);
    expect(new DropBits({ p: 0.5, minBits: 3 }).mask(new Quantizer({ bits: 2 }), w, true)).toBeUndefined();
    expect(new DropBits({ p: 0.5, minBits: 3 }).mask(new Quantizer({ bits: 3 }), w, true)).toBeDefined();
    expect(new DropBits({ p: 0.5 }).mask(new Quantizer({ bits: 1, symmetricBinary: true }), w, true)).toBeUndefined();
  });

  it('keepBits caps the dropped bits (never below keepBits bits), per channel and per tensor; its report expects the capped distribution', () => {
    const w = tf.randomNormal([16, 64], 0, 1, 'float32', 3);
    const dropBits = new DropBits({ p: 0.6, granularity: 'channel', keepBits: 2, seed: 4 });
    for (const bits of [3, 4, 5]) {
      const d = Array.from((dropBits.mask(new Quantizer({ bits }), w, true)!.drop as tf.Tensor).dataSync());
      expect(Math.max(...d), `${bits} bits`).toBe(bits - 2); // reached: p is high, 64 channels
    }
    expect(new DropBits({ p: 0.6, granularity: 'tensor', keepBits: 2 }).mask(new Quantizer({ bits: 2 }), w, true)).toBeUndefined();
    expect(new DropBits({ p: 0.6, granularity: 'channel' }).mask(new Quantizer({ bits: 2 }), w, true)).toBeDefined();
    const q = new Quantizer({ bits: 4, name: 'conv/w' });
    const r = regularize(q, new DropBits({ p: 0.5, granularity: 'channel', keepBits: 2, seed: 5 }));
    for (let i = 0; i < 100; i++) r.apply(w, { training: true }).dispose(); // 6,400 per-channel draws
    const report = r.report().drop!;
    expect(report.expected).toEqual([0.5, 0.25, 0.25, 0]);
    expect(report.frequency[3]).toBe(0);
    report.expected!.forEach((P, d) => expect(Math.abs(report.frequency[d]! - P)).toBeLessThan(0.03));
  });

  it("pick: 'sample' is handed to the quantizer with its own seed", () => {
    const mask = new DropBits({ p: 0.5, pick: 'sample', seed: 2 }).mask(new Quantizer({ bits: 3 }), tf.zeros([10]), true)!;
    expect(mask.pick).toBe('sample');
    expect(Number.isInteger(mask.seed)).toBe(true);
  });

  it("pick: 'full' is handed to the quantizer without a seed of its own; the forward is the undropped one", () => {
    const q = new Quantizer({ bits: 2 });
    const x = tf.randomNormal([200], 0, 1, 'float32', 3);
    const mask = new DropBits({ p: 0.5, pick: 'full', granularity: 'channel', seed: 2 }).mask(q, x, true)!;
    expect(mask.pick).toBe('full');
    expect(mask.seed).toBeUndefined();
    expect(Array.from(q.apply(x, { training: true, mask }).dataSync())).toEqual(Array.from(q.apply(x, { training: true }).dataSync()));
  });

  it('per element, the quantizer samples the drops (in place); per channel and tensor, DropBits does', () => {
    const q = new Quantizer({ bits: 3 });
    const w = tf.zeros([4, 5]);
    expect(new DropBits({ p: 0.2, seed: 9 }).mask(q, w, true)!.drop).toEqual({ p: 0.2, seed: 9 });
    expect((new DropBits({ p: 0.2, granularity: 'channel' }).mask(q, w, true)!.drop as tf.Tensor).shape).toEqual([1, 5]);
    expect((new DropBits({ p: 0.2, granularity: 'tensor' }).mask(q, w, true)!.drop as tf.Tensor).shape).toEqual([]);
  });

  it('the report holds the measured and the expected drop frequencies', () => {
    const q = new Quantizer({ bits: 3, name: 'fc1/w' });
    const r = regularize(q, new DropBits({ p: 0.3, seed: 1 }));
    const w = tf.randomNormal([20000]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) r.apply(w, { training: true }).dispose();
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(3); // the statistics variable (+ quantizer variables on first call)
    const report = r.report();
    expect(report).toMatchObject({ name: 'fc1/w', nominalBits: 3, learnedBits: 3, regularizer: 'dropbits', keptCodes: q.grid.codes() });
    expect(report.drop!.samples).toBe(100000);
    report.drop!.expected!.forEach((P, d) => expect(Math.abs(report.drop!.frequency[d]! - P)).toBeLessThan(4 * Math.sqrt((P * (1 - P)) / 1e5)));
    // the learned state: α from the data-driven init (3·std / 2^(b-1)), σ/α at its init 1/3
    const std = Math.sqrt(tf.moments(w).variance.dataSync()[0]!);
    expect(report.alpha).toHaveLength(1);
    expect(report.alpha[0]).toBeCloseTo((3 * std) / 4, 4);
    expect(report.sigmaRatio![0]).toBeCloseTo(1 / 3, 6);
  });

  it('reports no σ for ste and one α per channel for a per-channel quantizer', () => {
    const q = new Quantizer({ bits: 4, method: 'ste', perChannel: true });
    const r = regularize(q, null);
    r.apply(tf.tensor2d([[1, -2], [3, 0.5]]), { training: false }).dispose();
    const report = r.report();
    expect(report.sigmaRatio).toBeNull();
    expect(report.alpha).toHaveLength(2);
  });
});

describe('DropBits configuration', () => {
  it.each([
    [{ p: 1 }, 'p'],
    [{ p: -0.1 }, 'p'],
    [{ p: Number.NaN }, 'p'],
    [{ p: '0.1' }, 'p'],
    [{}, 'p'],
    [{ p: 0.1, granularity: 'row' }, 'granularity'],
    [{ p: 0.1, minBits: 0 }, 'minBits'],
    [{ p: 0.1, keepBits: 0, granularity: 'channel' }, 'keepBits'],
    [{ p: 0.1, keepBits: 2 }, 'keepBits'], // per element: the fused kernel samples d up to b − 1
    [{ p: 0.1, pick: 'random' }, 'pick'],
    [{ p: 0.1, probability: 0.2 }, 'probability'],
  ])('rejects %j naming %s', (config, field) => {
    let error: unknown;
    try {
      new DropBits(config as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DropBitsConfigError);
    expect((error as DropBitsConfigError).fields.field).toBe(field);
    expect((error as Error).message).toMatch(new RegExp(`^Invalid DropBits config: ${field} = .*; allowed: .*\\.$`));
  });

  it('rejects bits < 1 when sampling', () => {
    expect(() => new DropBits({ p: 0.1 }).sample([4], 0)).toThrow(/bits = 0; allowed: an integer from 1 to 8/);
  });
});
