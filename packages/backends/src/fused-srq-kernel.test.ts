// The fused srq kernel (one JavaScript loop) against the composition of tfjs ops it replaces, on
// the CPU backend: same forward values, same gradients, for the grids, drops and layouts in use.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { quantize, SRQ_FUSED_KERNEL, fusedKernelAvailable, type QuantizerConfig, type QuantizerMask } from '@srq/quantizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUSED_SRQ_KERNELS } from './fused-srq-kernel';
import { useBackend } from './use-backend';

const cpuKernel = FUSED_SRQ_KERNELS.find((k) => k.backendName === 'cpu')!;

function run(x: tf.Tensor, config: QuantizerConfig, mask: (() => QuantizerMask) | undefined, fused: boolean) {
  if (fused && !tf.getKernel(SRQ_FUSED_KERNEL, 'cpu')) tf.registerKernel(cpuKernel);
  if (!fused && tf.getKernel(SRQ_FUSED_KERNEL, 'cpu')) tf.unregisterKernel(SRQ_FUSED_KERNEL, 'cpu');
  expect(fusedKernelAvailable()).toBe(fused);
  const channels = config.perChannel ? x.shape[x.rank - 1]! : 0;
  const la = channels ? tf.tensor1d(Array.from({ length: channels }, (_, c) => Math.log(0.2 + 0.1 * c))) : tf.scalar(Math.log(0.3));
  const rho = channels ? tf.fill([channels], Math.log(0.4)) : tf.scalar(Math.log(0.4));
  const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 9);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => quantize(a, { logAlpha: b, logSigma: c }, config, { training: true, ...(mask ? { mask: mask() } : {}) });
  const value = Array.from(f(x, la, rho).dataSync(), (v) => v + 0); // -0 → 0
  const grads = tf.grads(f)([x, la, rho], dy).map((g) => Array.from(g.dataSync()));
  return { value, grads };
}

function close(a: number[], b: number[], tol: number): void {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  a.forEach((v, i) => expect(Math.abs(v - b[i]!), `index ${i}: ${v} vs ${b[i]}`).toBeLessThanOrEqual(tol * scale));
}

describe('fused srq kernel equals the op composition', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  const cases: Array<[string, QuantizerConfig, (() => QuantizerMask) | undefined]> = [
    ['2-bit signed', { bits: 2 }, undefined],
    ['2-bit unsigned', { bits: 2, signed: false }, undefined],
    ['4-bit signed, window 5', { bits: 4 }, undefined],
    ['8-bit unsigned, window 3', { bits: 8, signed: false, window: 3 }, undefined],
    ['3-bit per channel', { bits: 3, perChannel: true }, undefined],
    ['symmetric binary', { bits: 1, symmetricBinary: true }, undefined],
    ['4-bit, per-element drops', { bits: 4 }, () => ({ drop: tf.tensor2d(Array.from({ length: 40 * 6 }, (_, i) => i % 4), [40, 6], 'int32') })],
    ['8-bit, drop 5 for all', { bits: 8 }, () => ({ drop: 5 })],
    ["3-bit, per-element drops, pick 'full'", { bits: 3 }, () => ({ drop: tf.tensor2d(Array.from({ length: 40 * 6 }, (_, i) => i % 3), [40, 6], 'int32'), pick: 'full' })],
    ['4-bit, one drop for the tensor as a scalar tensor (BitGates)', { bits: 4 }, () => ({ drop: tf.scalar(2, 'int32') })],
  ];
  it.each(cases)('%s', (_, config, mask) => {
    const x = tf.mul(tf.randomNormal([40, 6], 0, 1, 'float32', 4), 1.2);
    const fused = run(x, config, mask, true);
    const ops = run(x, config, mask, false);
    expect(fused.value).toEqual(ops.value); // bit-identical forward
    fused.grads.forEach((g, i) => close(g, ops.grads[i]!, 2e-5));
    expect(fused.grads[1]!.some((v) => Math.abs(v) > 1e-3)).toBe(true); // a real gradient to log α
  });

  const baselines: Array<[string, QuantizerConfig]> = [
    ['rq, 2-bit signed, λ = 1', { bits: 2, method: 'rq', seed: 3 }],
    ['rq, 4-bit unsigned, λ = 0.5', { bits: 4, signed: false, method: 'rq', temperature: 0.5, seed: 4 }],
    ['rq-st, 2-bit signed, λ = 2', { bits: 2, method: 'rq-st', temperature: 2, seed: 5 }],
    ['rq, 3-bit per channel', { bits: 3, method: 'rq', perChannel: true, seed: 6 }],
  ];
  it.each(baselines)('%s: the same Gumbel noise, values and gradients', (_, config) => {
    const x = tf.mul(tf.randomNormal([40, 6], 0, 1, 'float32', 4), 1.2);
    const fused = run(x, config, undefined, true);
    const ops = run(x, config, undefined, false);
    close(fused.value, ops.value, 2e-5);
    fused.grads.forEach((g, i) => close(g, ops.grads[i]!, 2e-5));
    const steps = fused.value.filter((v) => Math.abs(v / 0.3 - Math.round(v / 0.3)) > 1e-3).length;
    expect(steps > 0).toBe(config.method === 'rq'); // rq outputs soft samples, rq-st grid points
    expect(fused.grads[2]!.some((v) => Math.abs(v) > 1e-3)).toBe(true); // a real gradient to ρ
  });

  it('samples drops per element with P(d ≥ j) = p^j and reports their counts', () => {
    if (!tf.getKernel(SRQ_FUSED_KERNEL, 'cpu')) tf.registerKernel(cpuKernel);
    const n = 100_000;
    let counts: number[] = [];
    quantize(tf.randomNormal([n]), { logAlpha: tf.scalar(-2), logSigma: tf.scalar(Math.log(1 / 3)) }, { bits: 4 }, {
      training: true,
      mask: { drop: { p: 0.3, seed: 5 } },
      onDropCounts: (c) => (counts = Array.from(c.dataSync())),
    });
    const expected = [0.7, 0.21, 0.063, 0.027];
    counts.forEach((c, d) => expect(Math.abs(c / n - expected[d]!)).toBeLessThan(4 * Math.sqrt((expected[d]! * (1 - expected[d]!)) / n)));
  });
});
