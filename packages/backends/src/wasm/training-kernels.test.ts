// Each kernel registered for wasm is checked against the CPU backend (the reference) on random
// inputs: the gradients of conv2d with respect to the filter and the input, for strides and paddings
// that the zoo models use and a few they do not; the depthwise conv2d gradients (which wasm lacks);
// the gather gradient (UnsortedSegmentSum, also missing); matMul with every transpose; the max-pool gradient.
import '@tensorflow/tfjs-layers'; // registers the op gradients
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../use-backend';

type Case = { x: [number, number, number, number]; f: [number, number, number, number]; stride: number; pad: 'valid' | 'same' };

const CASES: Case[] = [
  { x: [4, 28, 28, 1], f: [5, 5, 1, 8], stride: 1, pad: 'valid' }, // LeNet-5 conv1
  { x: [3, 12, 12, 8], f: [5, 5, 8, 16], stride: 1, pad: 'valid' }, // LeNet-5 conv2
  { x: [2, 16, 16, 6], f: [3, 3, 6, 7], stride: 1, pad: 'same' }, // VGG / ResNet
  { x: [2, 16, 16, 6], f: [3, 3, 6, 5], stride: 2, pad: 'same' }, // ResNet downsampling
  { x: [2, 15, 13, 3], f: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [2, 15, 13, 3], f: [1, 1, 3, 4], stride: 2, pad: 'valid' }, // ResNet shortcut
  { x: [1, 11, 9, 2], f: [4, 2, 2, 3], stride: 3, pad: 'valid' },
];

function grads(c: Case, seed: number): { dx: Float32Array; df: Float32Array } {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', seed);
    const f = tf.randomNormal(c.f, 0, 1, 'float32', seed + 1);
    const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad))([x, f], dy);
    return { dx: dx!.dataSync() as Float32Array, df: df!.dataSync() as Float32Array };
  });
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  const scale = Math.max(...Array.from(b, Math.abs), 1e-6);
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  return worst;
}

describe('wasm training kernels match the CPU backend', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each(CASES)('conv2d gradients for x %j', async (c) => {
    await tf.setBackend('cpu');
    const ref = grads(c, 7);
    await tf.setBackend('wasm');
    const out = grads(c, 7);
    expect(out.df.length).toBe(ref.df.length);
    expect(out.dx.length).toBe(ref.dx.length);
    expect(maxRelError(out.df, ref.df)).toBeLessThan(1e-5);
    expect(maxRelError(out.dx, ref.dx)).toBeLessThan(1e-5);
  });

  const DEPTHWISE: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; stride: number; pad: 'valid' | 'same'; dilation?: number }> = [
    { x: [2, 12, 12, 6], f: [3, 3, 6, 1], stride: 1, pad: 'same' }, // MobileNet
    { x: [2, 13, 11, 4], f: [3, 3, 4, 1], stride: 2, pad: 'same' }, // MobileNet downsampling
    { x: [1, 9, 9, 3], f: [5, 5, 3, 2], stride: 1, pad: 'valid' }, // depth multiplier 2
  ];

  it.each(DEPTHWISE)('depthwiseConv2d gradients for x %j', async (c) => {
    const depthwise = (seed: number) =>
      tf.tidy(() => {
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
        const x = tf.randomNormal(c.x, 0, 1, 'float32', seed);
        const f = tf.randomNormal(c.f, 0, 1, 'float32', seed + 1);
        const dy = tf.randomNormal(conv(x, f).shape, 0, 1, 'float32', seed + 2);
        const [dx, df] = tf.grads(conv)([x, f], dy);
        return { dx: dx!.dataSync() as Float32Array, df: df!.dataSync() as Float32Array };
      });
    await tf.setBackend('cpu');
    const ref = depthwise(11);
    await tf.setBackend('wasm');
    const out = depthwise(11);
    expect(out.dx.length).toBe(ref.dx.length);
    expect(maxRelError(out.dx, ref.dx)).toBeLessThan(1e-5);
    expect(maxRelError(out.df, ref.df)).toBeLessThan(1e-5);
  });

  it.each([
    { table: [20, 4], ids: [3, 6] },
    { table: [7, 2, 3], ids: [11] },
  ])('gather gradient (UnsortedSegmentSum) for an embedding table %j', async ({ table, ids }) => {
    const grad = (seed: number) =>
      tf.tidy(() => {
        const t = tf.randomNormal(table, 0, 1, 'float32', seed);
        const idx = tf.randomUniform(ids, 0, table[0]!, 'int32', seed + 1);
        const dy = tf.randomNormal([...ids, ...table.slice(1)], 0, 1, 'float32', seed + 2);
        return tf.grad((a: tf.Tensor) => tf.gather(a, idx))(t, dy).dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const ref = grad(5);
    await tf.setBackend('wasm');
    expect(maxRelError(grad(5), ref)).toBeLessThan(1e-6);
  });

  const MATMULS: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
    { a: [64, 1024], b: [1024, 512], ta: false, tb: false },
    { a: [64, 96], b: [80, 96], ta: false, tb: true }, // dx = dy·Wᵀ
    { a: [64, 96], b: [64, 80], ta: true, tb: false }, // dW = xᵀ·dy
    { a: [96, 64], b: [80, 96], ta: true, tb: true },
    { a: [3, 40, 7], b: [3, 40, 9], ta: true, tb: false }, // batched
    { a: [2, 5, 6], b: [2, 4, 6], ta: false, tb: true },
    { a: [300, 20], b: [300, 3], ta: true, tb: false }, // transposing b and the result is cheaper
    { a: [20, 3], b: [2, 3], ta: false, tb: true },
  ];
  it.each(MATMULS)('matMul %j', async (c) => {
    const product = () =>
      tf.tidy(() => tf.matMul(tf.randomNormal(c.a, 0, 1, 'float32', 3), tf.randomNormal(c.b, 0, 1, 'float32', 4), c.ta, c.tb).dataSync() as Float32Array);
    await tf.setBackend('cpu');
    const ref = product();
    await tf.setBackend('wasm');
    const out = product();
    expect(out.length).toBe(ref.length);
    expect(maxRelError(out, ref)).toBeLessThan(1e-5);
  });

  const POOLS: Array<{ x: [number, number, number, number]; size: number; stride: number; pad: 'valid' | 'same' }> = [
    { x: [4, 24, 24, 6], size: 2, stride: 2, pad: 'valid' }, // LeNet-5
    { x: [2, 9, 7, 3], size: 3, stride: 2, pad: 'same' }, // overlapping, padded
    { x: [2, 9, 7, 3], size: 2, stride: 1, pad: 'valid' },
  ];
  it.each(POOLS)('maxPool gradient %j', async (c) => {
    const grad = () =>
      tf.tidy(() => {
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 5);
        const f = (v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, c.size, c.stride, c.pad);
        const dy = tf.randomNormal(f(x).shape, 0, 1, 'float32', 6);
        return tf.grad(f)(x, dy).dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const ref = grad();
    await tf.setBackend('wasm');
    const out = grad();
    expect(maxRelError(out, ref)).toBeLessThan(1e-6);
    expect(out.some((v) => v !== 0)).toBe(true);
  });

  it('Identity shares the memory of its input: the same values, alive after the input is disposed, freed with the last reference', async () => {
    await tf.setBackend('wasm');
    const backend = tf.engine().backend;
    const dataIds = backend.numDataIds();
    const x = tf.tensor2d([[1.5, -2], [3, 0.25]]);
    const y = tf.clone(x); // the Identity kernel
    expect(backend.numDataIds()).toBe(dataIds + 1); // one buffer for both
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1.5, -2, 3, 0.25]);
    y.dispose();
    expect(backend.numDataIds()).toBe(dataIds);
    // what tfjs keeps for a gradient is such a reference: the gradient is the same
    const v = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 9);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), a)))(v);
    const want = tf.tidy(() => tf.mul(tf.add(tf.relu(v), tf.mul(tf.step(v), v)), 1));
    expect(maxRelError(g.dataSync() as Float32Array, want.dataSync() as Float32Array)).toBe(0);
    tf.dispose([v, g, want]);
    expect(backend.numDataIds()).toBe(dataIds);
  });

  it('frees every intermediate', async () => {
    await tf.setBackend('wasm');
    grads(CASES[3]!, 1); // warm-up
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (const c of CASES) grads(c, 1);
    tf.tidy(() => void tf.matMul(tf.ones([30, 4]), tf.ones([30, 5]), true, false));
    tf.tidy(() => void tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'))(tf.ones([1, 4, 4, 1])));
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds); // intermediates made inside the kernels are freed too
  });
});
