// quantizeModel of the models tfjs users have, trained on the wasm backend with our training
// kernels and the fused WebAssembly quantizer (the path `srq train` uses): the model of
// tensorflow/tfjs-examples' mnist-node on real MNIST images, and a MobileNet-style network
// (BN, ReLU6, depthwise, 1×1, a residual add, a separable conv, GAP, softmax) on synthetic
// inputs. Each trains with model.fit; the MNIST one must learn.
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@srq/backends';
import { loadDataset } from '@srq/datasets';
import { quantizeModel } from '@srq/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { mobileNetStyle } from './mobilenet-style';

describe('quantizeModel on wasm', () => {
  beforeAll(async () => {
    const info = await useBackend('wasm');
    expect(info.fusedQuantizer).toBe('wasm-simd');
  });

  it('the tfjs-examples mnist-node model, quantized to 2/2 with no other option, learns MNIST with model.fit', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
        tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: [2, 2] }),
        tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
        tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: [2, 2] }),
        tfl.layers.flatten(),
        tfl.layers.dropout({ rate: 0.25 }),
        tfl.layers.dense({ units: 512, activation: 'relu' }),
        tfl.layers.dropout({ rate: 0.5 }),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const q = quantizeModel(model, { method: 'srq', weightBits: 2, activationBits: 2 });
    const mnist = loadDataset('mnist');
    const n = 1024;
    const x = tf.tidy(() => tf.div(tf.tensor4d(mnist.train.images.subarray(0, n * 784), [n, 28, 28, 1], 'float32'), 255));
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(mnist.train.labels.subarray(0, n), 'int32'), 10));
    q.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const history = await q.fit(x, y, { epochs: 3, batchSize: 64, verbose: 0 });
    const acc = history.history.acc as number[];
    expect(acc.at(-1)!).toBeGreaterThan(0.6);
    expect(acc.at(-1)!).toBeGreaterThan(acc[0]!);
    tf.dispose([x, y]);
  });

  it('a MobileNet-style model trains with model.fit at 2/2', async () => {
    const q = quantizeModel(mobileNetStyle(), { method: 'srq', weightBits: 2, activationBits: 2 });
    // a learnable task: the class is the image's brightest colour channel
    const x = tf.randomUniform([128, 16, 16, 3], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.oneHot(tf.argMax(tf.mean(x, [1, 2]), 1), 10));
    q.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
    const history = await q.fit(x, y, { epochs: 6, batchSize: 32, verbose: 0 });
    const loss = history.history.loss as number[];
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(loss.at(-1)!).toBeLessThan(loss[0]!);
    tf.dispose([x, y]);
  });

  /** Seeded initial weights: each case trains the same model in every run. */
  let seed = 100;
  const seeded = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: ++seed }) });
  it.each<[string, () => tfl.LayersModel, number[], 'float32' | 'int32']>([
    ['Conv1D', () => tfl.sequential({ layers: [tfl.layers.conv1d({ ...seeded(), inputShape: [12, 3], filters: 4, kernelSize: 3, activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ ...seeded(), units: 10 })] }), [12, 3], 'float32'],
    ['Conv2DTranspose + BN', () => tfl.sequential({ layers: [tfl.layers.conv2dTranspose({ ...seeded(), inputShape: [4, 4, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), tfl.layers.batchNormalization({}), tfl.layers.flatten(), tfl.layers.dense({ ...seeded(), units: 10 })] }), [4, 4, 3], 'float32'],
    ['Embedding', () => tfl.sequential({ layers: [tfl.layers.embedding({ embeddingsInitializer: tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 11 }), inputDim: 20, outputDim: 4, inputLength: 6 }), tfl.layers.flatten(), tfl.layers.dense({ ...seeded(), units: 10 })] }), [6], 'int32'],
    ['Dense on 3-D inputs', () => tfl.sequential({ layers: [tfl.layers.dense({ ...seeded(), inputShape: [4, 6], units: 8, activation: 'tanh' }), tfl.layers.flatten(), tfl.layers.dense({ ...seeded(), units: 10 })] }), [4, 6], 'float32'],
    ['a shared Conv2D (called twice)', () => {
      const input = tfl.input({ shape: [8, 8, 4] });
      const shared = tfl.layers.conv2d({ ...seeded(), filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
      const h = tfl.layers.flatten().apply(shared.apply(shared.apply(input))) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: tfl.layers.dense({ ...seeded(), units: 10 }).apply(h) as tfl.SymbolicTensor });
    }, [8, 8, 4], 'float32'],
    ['a nested Sequential (conv + BN + ReLU6)', () => {
      const block = tfl.sequential({ layers: [tfl.layers.conv2d({ ...seeded(), inputShape: [8, 8, 3], filters: 6, kernelSize: 3, useBias: false }), tfl.layers.batchNormalization(), tfl.layers.reLU({ maxValue: 6 })] });
      const input = tfl.input({ shape: [8, 8, 3] });
      const h = tfl.layers.flatten().apply(block.apply(input)) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: tfl.layers.dense({ ...seeded(), units: 10 }).apply(h) as tfl.SymbolicTensor });
    }, [8, 8, 3], 'float32'],
  ])('%s trains with model.fit at 2/2', async (_, build, shape, dtype) => {
    const q = quantizeModel(build(), { method: 'srq', weightBits: 2, activationBits: 2 });
    const x = dtype === 'int32' ? tf.randomUniform([32, ...shape], 0, 20, 'int32', 1) : tf.randomUniform([32, ...shape], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32', 2), 10);
    q.compile({ optimizer: tf.train.adam(1e-2), loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.softmaxCrossEntropy(yt, yp) });
    const loss = (await q.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 })).history.loss as number[];
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(loss.at(-1)!).toBeLessThan(loss[0]!);
    tf.dispose([x, y]);
  });
});
