// Integer inference of packed models (@srq/models' integerModel on @srq/backends' kernels): the
// committed demo model (2-bit LeNet-5) on the whole MNIST test set gives the float graph's
// predictions with logits equal up to float rounding; every supported layer configuration runs on
// integers on wasm (WebAssembly SIMD) and on cpu (the JavaScript reference) with the float graph's
// outputs; the weights are held as their codes; and memory stays flat over many predictions.
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendMemory, intConvMemoryBytes, useBackend } from '@srq/backends';
import { batches, loadDataset } from '@srq/datasets';
import { exportPacked, loadPackedModel, modelReport, quantizeModel } from '@srq/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mobileNetStyle } from './mobilenet-style';
import { repoRoot } from './node-run';

const DEMO = join(repoRoot, 'apps/docs/public/models/lenet5-w2a2');
const maxAbs = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);
const classes = (m: tfl.LayersModel) => m.layers.map((l) => l.getClassName());

/** After `warmup` predictions (the kernels' scratch grows to the largest layer), `n` more leave the tensors, their bytes, the tfjs heap and our module's memory unchanged. */
function expectFlat(model: tfl.LayersModel, x: tf.Tensor, warmup: number, n: number): void {
  const run = (k: number) => {
    for (let i = 0; i < k; i++) tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  };
  run(warmup);
  const at = () => ({ ...tf.memory(), heap: backendMemory().heapBytes, scratch: intConvMemoryBytes() });
  const start = at();
  run(n);
  const end = at();
  expect([end.numTensors, end.numBytes, end.heap, end.scratch]).toEqual([start.numTensors, start.numBytes, start.heap, start.scratch]);
}

describe('integer inference of packed models', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  }, 60_000);
  afterAll(async () => {
    await useBackend('wasm');
  });

  it('the demo model: the float graph’s predictions on all 10,000 MNIST test images, logits equal up to float rounding', async () => {
    const float = await loadPackedModel(DEMO, { integer: false });
    const before = tf.memory().numBytes;
    const integer = await loadPackedModel(DEMO, { integer: true });
    const resident = tf.memory().numBytes - before;
    // conv1 (float pixels in) with its ReLU, quantizer and max-pool in one kernel; conv2's ReLU and quantizer in its
    // epilogue; the max-pool and Flatten before fc1 in fc1's input pass; fc1's ReLU and quantizer in its epilogue
    expect(classes(integer)).toEqual(['InputLayer', 'SrqConvQuantize', 'SrqIntConv2D', 'SrqIntConv2D', 'SrqIntConv2D']);
    // the weights as held: conv2 and the dense layers as 2-bit codes (conv1, the first layer, reads float pixels and stays float)
    expect(resident).toBeLessThan(modelReport(float).floatBytes / 10);
    const mnist = loadDataset('mnist');
    let worst = 0;
    let largest = 0;
    let disagree = 0;
    for (const batch of batches(mnist, mnist.test, { batchSize: 1000 })) {
      const [a, b] = [float.predict(batch.x) as tf.Tensor, integer.predict(batch.x) as tf.Tensor];
      worst = Math.max(worst, maxAbs(tf.sub(a, b)));
      largest = Math.max(largest, maxAbs(a));
      disagree += tf.tidy(() => tf.sum(tf.notEqual(tf.argMax(a, 1), tf.argMax(b, 1))).dataSync()[0]!);
      tf.dispose([a, b, batch.x, batch.y]);
    }
    console.log(`integer vs float graph on the MNIST test set: ${disagree} of 10000 predictions differ; largest logit difference ${worst.toExponential(2)} (largest logit ${largest.toFixed(2)})`);
    expect(disagree).toBe(0);
    expect(worst).toBeGreaterThan(0); // float rounding, not the same computation
    expect(worst).toBeLessThan(1e-5 * largest);
  }, 300_000);

  /** Seeded kernel initialisation: the same models in every run. */
  let seed = 0;
  const init = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: ++seed }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: ++seed }) });
  /** Small models that exercise every path: padding, strides, per-channel scales, ReLU6, depthwise, dense on 3-D inputs, bit-widths 1 to 8. */
  const configurations: Array<[string, () => tfl.LayersModel, number[], { weightBits: number; activationBits: number; perChannel?: boolean }]> = [
    ['conv same/stride 2 + ReLU6, dense, 2/2', () => tfl.sequential({ layers: [
      tfl.layers.conv2d({ ...init(), inputShape: [9, 9, 3], filters: 20, kernelSize: 3, activation: 'relu' }),
      tfl.layers.conv2d({ ...init(), filters: 18, kernelSize: 3, strides: 2, padding: 'same' }), tfl.layers.reLU({ maxValue: 6 }),
      tfl.layers.flatten(), tfl.layers.dense({ ...init(), units: 7 }),
    ] }), [9, 9, 3], { weightBits: 2, activationBits: 2 }],
    ['per-channel weights, max-pool between, 3/4', () => tfl.sequential({ layers: [
      tfl.layers.conv2d({ ...init(), inputShape: [8, 8, 2], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }), tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ ...init(), filters: 5, kernelSize: 3, activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ ...init(), units: 4 }),
    ] }), [8, 8, 2], { weightBits: 3, activationBits: 4, perChannel: true }],
    ['odd max-pool (7×7 → 3×3) and Flatten fused into a dense layer, ReLU6, 2/2', () => tfl.sequential({ layers: [
      tfl.layers.conv2d({ ...init(), inputShape: [9, 9, 3], filters: 6, kernelSize: 3 }), tfl.layers.reLU({ maxValue: 6 }), tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ ...init(), filters: 12, kernelSize: 1, activation: 'relu' }), tfl.layers.maxPooling2d({ poolSize: 3 }), tfl.layers.flatten(), tfl.layers.dense({ ...init(), units: 5 }),
    ] }), [9, 9, 3], { weightBits: 2, activationBits: 2 }],
    ['dense on 3-D inputs, 1/1', () => tfl.sequential({ layers: [
      tfl.layers.dense({ ...init(), inputShape: [5, 6], units: 12, activation: 'relu' }), tfl.layers.dense({ ...init(), units: 9, activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ ...init(), units: 3 }),
    ] }), [5, 6], { weightBits: 1, activationBits: 1 }],
    ['depthwise between ReLU6 quantizers (stride 2, same), then 1×1 and dense, 2/2', () => tfl.sequential({ layers: [
      tfl.layers.conv2d({ ...init(), inputShape: [8, 8, 3], filters: 12, kernelSize: 3, padding: 'same' }), tfl.layers.reLU({ maxValue: 6 }),
      tfl.layers.depthwiseConv2d({ depthwiseInitializer: tfl.initializers.glorotUniform({ seed: ++seed }), kernelSize: 3, strides: 2, padding: 'same' }), tfl.layers.reLU({ maxValue: 6 }),
      tfl.layers.conv2d({ ...init(), filters: 6, kernelSize: 1, activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ ...init(), units: 4 }),
    ] }), [8, 8, 3], { weightBits: 2, activationBits: 2 }],
    ['8/8 (activations in two 4-bit digits)', () => tfl.sequential({ layers: [
      tfl.layers.conv2d({ ...init(), inputShape: [6, 6, 4], filters: 6, kernelSize: 3, activation: 'relu' }), tfl.layers.conv2d({ ...init(), filters: 17, kernelSize: 2, activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ ...init(), units: 5 }),
    ] }), [6, 6, 4], { weightBits: 8, activationBits: 8 }],
  ];

  it.each(configurations)('%s: on integers on wasm and on cpu, with the float graph’s outputs', async (_, build, shape, bits) => {
    const x = tf.randomUniform([16, ...shape], 0, 1, 'float32', 4);
    const q = quantizeModel(build(), { method: 'srq', ...bits });
    q.predict(x); // initialises the quantizers
    const dir = mkdtempSync(join(tmpdir(), 'srq-int-'));
    await exportPacked(q, dir);
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const float = await loadPackedModel(dir, { integer: false });
      const integer = await loadPackedModel(dir);
      expect(classes(integer).filter((c) => c === 'SrqIntConv2D').length, backend).toBeGreaterThanOrEqual(2);
      // a first convolution (float inputs of ≤ 4 channels) runs with its ReLU, quantizer and max-pool fused
      if (q.layers[1]!.getClassName() === 'QConv2D') expect(classes(integer)[1], backend).toBe('SrqConvQuantize');
      // a depthwise convolution reading a quantized input runs on integers too
      expect(classes(integer).filter((c) => c === 'SrqIntDepthwiseConv2D').length, backend).toBe(q.layers.filter((l) => l.getClassName() === 'QDepthwiseConv2D').length);
      const [a, b] = [float.predict(x) as tf.Tensor, integer.predict(x) as tf.Tensor];
      // equal up to float rounding — except where that rounding moves a quantizer's input across a
      // rounding boundary: there the two pick neighbouring codes (specification §10), rarely
      const tolerance = 1e-5 * Math.max(1, maxAbs(a));
      const off = tf.tidy(() => tf.sum(tf.cast(tf.greater(tf.abs(tf.sub(a, b)), tolerance), 'int32')).dataSync()[0]!);
      const agree = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(a, 1), tf.argMax(b, 1)), 'int32')).dataSync()[0]!);
      console.log(`${_} on ${backend}: ${off} of ${a.size} outputs beyond float rounding; ${agree} of 16 argmax equal`);
      expect(off, backend).toBeLessThanOrEqual(0.02 * a.size);
      expect(agree, backend).toBeGreaterThanOrEqual(15);
      tf.dispose([a, b]);
    }
    await useBackend('wasm');
  }, 120_000);

  it('the MobileNet-style model: folded BNs, a depthwise conv on integers, the separable conv’s depthwise (a float input) as a stock layer, the float graph’s outputs', async () => {
    const x = tf.randomUniform([8, 16, 16, 3], 0, 1, 'float32', 6);
    const q = quantizeModel(mobileNetStyle(), { method: 'srq', weightBits: 2, activationBits: 2 });
    q.predict(x);
    const dir = mkdtempSync(join(tmpdir(), 'srq-int-mb-'));
    await exportPacked(q, dir);
    const float = await loadPackedModel(dir, { integer: false });
    const integer = await loadPackedModel(dir);
    const found = classes(integer);
    expect(found.filter((c) => c === 'SrqIntDepthwiseConv2D')).toHaveLength(1);
    expect(found.filter((c) => c === 'DepthwiseConv2D')).toHaveLength(1);
    expect(found).not.toContain('QDepthwiseConv2D'); // no weight quantizer runs per call
    const [a, b] = [float.predict(x) as tf.Tensor, integer.predict(x) as tf.Tensor];
    const worst = maxAbs(tf.sub(a, b));
    console.log(`MobileNet-style: ${found.join(', ')}; largest output difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    tf.dispose([a, b]);
    // its depthwise and first-layer kernels keep memory flat too
    expectFlat(integer, x, 10, 100);
    x.dispose();
  }, 120_000);

  it('keeps the tensors, the bytes and both WebAssembly memories flat over 300 predictions', async () => {
    const integer = await loadPackedModel(DEMO);
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 5);
    expectFlat(integer, x, 20, 300);
    x.dispose();
  }, 120_000);
});
