// A training loop differentiates ordinary tfjs ops too (matMul, the loss), so this file registers
// the op gradients the way applications do: by importing tfjs-layers.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dequantize } from './codes';
import { QuantizerInputError } from './errors';
import { absQuantile } from './init';
import { Quantizer } from './quantizer';
import { normals } from './test-reference';

function std(v: Float32Array): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}

describe('Quantizer', () => {
  it('initialises α from data: 3·std/2^(b-1) for weights, q0.99/k_max for activations, σ = α/3', () => {
    const w = normals(4000, 1, 0.2);
    const q = new Quantizer({ bits: 4 });
    q.init(tf.tensor1d(w));
    expect(q.alpha().dataSync()[0]).toBeCloseTo((3 * std(w)) / 8, 5);
    expect(q.sigma().dataSync()[0]).toBeCloseTo((3 * std(w)) / 8 / 3, 5);

    const a = Float32Array.from(normals(4000, 2, 1), (v) => Math.max(0, v));
    const qa = new Quantizer({ bits: 2, signed: false });
    qa.init(tf.tensor1d(a));
    expect(qa.alpha().dataSync()[0]).toBeCloseTo(absQuantile(a, 0.99) / 3, 5);

    const qb = new Quantizer({ bits: 1, symmetricBinary: true });
    qb.init(tf.tensor1d(w));
    expect(qb.alpha().dataSync()[0]).toBeCloseTo(w.reduce((s, v) => s + Math.abs(v), 0) / w.length, 5);
  });

  it('falls back to a positive α for an all-zero sample', () => {
    const q = new Quantizer({ bits: 2, signed: false });
    q.init(tf.zeros([10]));
    expect(q.alpha().dataSync()[0]).toBe(1);
  });

  it('per channel: one α per output channel of a kernel', () => {
    const cols = [0.05, 0.5, 2];
    const kernel = tf.tidy(() => tf.mul(tf.randomNormal([3, 3, 4, 3], 0, 1, 'float32', 3), tf.tensor1d(cols)));
    const q = new Quantizer({ bits: 3, perChannel: true });
    q.init(kernel);
    expect(q.logAlpha!.shape).toEqual([3]);
    const alphas = q.alpha().dataSync();
    const data = kernel.dataSync();
    cols.forEach((_, c) => {
      const column = Float32Array.from(data.filter((_, i) => i % 3 === c));
      expect(alphas[c]).toBeCloseTo((3 * std(column)) / 4, 5);
    });
    expect(() => q.apply(tf.zeros([4, 5]), { training: false })).toThrow(QuantizerInputError);
  });

  it('trainable weights: log α (ste) or log α and ρ = log(σ/α) (relaxed), built by a factory when given', () => {
    expect(new Quantizer({ bits: 2, method: 'ste' }).trainableWeights).toHaveLength(0);
    const ste = new Quantizer({ bits: 2, method: 'ste' });
    ste.build([4]);
    expect(ste.trainableWeights.map((v) => v.shape)).toEqual([[]]);
    const names: string[] = [];
    const srq = new Quantizer({ bits: 2, name: 'conv1/wq' });
    srq.build([3, 3, 1, 8], (name, init, trainable) => {
      names.push(name);
      return tf.variable(init, trainable);
    });
    expect(names).toEqual(['conv1/wq/log_alpha', 'conv1/wq/log_sigma']);
    expect(srq.initialized).toBe(false);
    srq.apply(tf.randomNormal([3, 3, 1, 8]), { training: true }); // first call initialises from data
    expect(srq.initialized).toBe(true);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('codes() round-trips to the inference output exactly (%i bits)', (bits) => {
    const configs = [
      { bits, signed: true },
      { bits, signed: false },
      { bits, signed: true, perChannel: true },
      ...(bits === 1 ? [{ bits, symmetricBinary: true }] : []),
    ];
    for (const config of configs) {
      const q = new Quantizer(config);
      const x = tf.tensor2d(normals(64 * 6, bits, 0.7), [64, 6]);
      const input = config.signed === false ? tf.relu(x) : x;
      q.init(input);
      const c = q.codes(input);
      expect(c.codes).toBeInstanceOf(config.signed === false && bits === 8 ? Int16Array : Int8Array);
      expect(c.scale).toHaveLength(config.perChannel ? 6 : 1);
      expect(Math.min(...c.codes)).toBeGreaterThanOrEqual(q.grid.minCode);
      expect(Math.max(...c.codes)).toBeLessThanOrEqual(q.grid.maxCode);
      const back = dequantize(c).dataSync();
      const inference = q.apply(input, { training: false }).dataSync();
      expect(Array.from(back, (v) => v + 0)).toEqual(Array.from(inference, (v) => v + 0));
    }
  });

  it('a training step leaks no tensor and a real optimisation lowers the loss', () => {
    // y = x·W with W on no particular grid: learn a 3-bit W (and its α, σ) by Adam.
    const xs = tf.randomNormal([256, 16], 0, 1, 'float32', 1);
    const wTrue = tf.randomNormal([16, 4], 0, 0.5, 'float32', 2);
    const ys = tf.matMul(xs, wTrue);
    const w = tf.variable(tf.randomNormal([16, 4], 0, 0.5, 'float32', 3));
    const q = new Quantizer({ bits: 3, method: 'srq' });
    q.init(w);
    const opt = tf.train.adam(0.02);
    const loss = () => tf.losses.meanSquaredError(ys, tf.matMul(xs, q.apply(w, { training: true }))) as tf.Scalar;
    const first = tf.tidy(() => loss().dataSync()[0]!);
    const alpha0 = q.alpha().dataSync()[0]!;
    opt.minimize(loss, false, [w, ...q.trainableWeights]); // warm-up: creates Adam's slots
    const before = tf.memory().numTensors;
    for (let i = 0; i < 300; i++) opt.minimize(loss, false, [w, ...q.trainableWeights]);
    expect(tf.memory().numTensors).toBe(before);
    const last = tf.tidy(() => loss().dataSync()[0]!);
    expect(last).toBeLessThan(first * 0.2);
    expect(q.alpha().dataSync()[0]).not.toBeCloseTo(alpha0, 4); // α was learned
  });

  it('srq keeps σ/α at its init by default while α trains (σ follows α); learnSigma: true, and rq by default, learn it', () => {
    const xs = tf.randomNormal([128, 8], 0, 1, 'float32', 1);
    const ys = tf.matMul(xs, tf.randomNormal([8, 2], 0, 0.5, 'float32', 2));
    const w = tf.variable(tf.randomNormal([8, 2], 0, 0.5, 'float32', 3));
    const learned = new Quantizer({ bits: 4, method: 'srq', learnSigma: true, name: 'learned' });
    const fixed = new Quantizer({ bits: 4, method: 'srq', sigmaInit: 0.2, name: 'fixed' });
    const rq = new Quantizer({ bits: 4, method: 'rq', sigmaInit: 0.1, name: 'rq' });
    const alpha0: number[] = [];
    for (const q of [learned, fixed, rq]) {
      q.init(w);
      alpha0.push(q.logAlpha!.dataSync()[0]!);
      const opt = tf.train.adam(0.05);
      const loss = () => tf.losses.meanSquaredError(ys, tf.matMul(xs, q.apply(w, { training: true }))) as tf.Scalar;
      for (let i = 0; i < 20; i++) opt.minimize(loss, false, [...q.trainableWeights]);
    }
    expect(fixed.trainableWeights).toEqual([fixed.logAlpha]);
    expect(fixed.logSigma!.trainable).toBe(false);
    expect(fixed.logSigma!.dataSync()[0]).toBe(Math.fround(Math.log(0.2)));
    expect(Math.abs(fixed.logAlpha!.dataSync()[0]! - alpha0[1]!)).toBeGreaterThan(1e-3); // α trained
    expect(learned.trainableWeights).toHaveLength(2);
    expect(Math.abs(learned.logSigma!.dataSync()[0]! - Math.log(1 / 3))).toBeGreaterThan(1e-3);
    expect(rq.trainableWeights).toHaveLength(2);
    expect(Math.abs(rq.logSigma!.dataSync()[0]! - Math.log(0.1))).toBeGreaterThan(1e-3);
    expect(new Quantizer({ bits: 2, method: 'rq-st' }).config.learnSigma).toBe(true);
    expect(() => new Quantizer({ bits: 2, learnSigma: 'no' as unknown as boolean })).toThrow(/learnSigma/);
  });

  it('debug mode rejects NaN input with a one-line message', () => {
    const q = new Quantizer({ bits: 2, debug: true });
    expect(() => q.apply(tf.tensor1d([1, Number.NaN]), { training: true })).toThrow(/^Quantizer input x contains NaN or Infinity\.$/);
  });

  it('getConfig() recreates the same quantizer', () => {
    const q = new Quantizer({ bits: 5, method: 'rq', temperature: 0.5, perChannel: true });
    expect(new Quantizer(q.getConfig()).config).toEqual(q.config);
    expect(JSON.parse(JSON.stringify(q.getConfig()))).toEqual(q.config);
  });
});
