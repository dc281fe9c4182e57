// Each kernel registered for wasm is checked against the CPU backend (the reference) on random
// inputs: the gradients of conv2d with respect to the filter and the input, for strides and paddings
// that the zoo models use and a few they do not.
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

  it('frees every intermediate', async () => {
    await tf.setBackend('wasm');
    grads(CASES[3]!, 1); // warm-up
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (const c of CASES) grads(c, 1);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds); // intermediates made inside the kernels are freed too
  });
});
