import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { modelReport } from './model-report';
import { quantizeModel, UnsupportedLayerError } from './quantize-model';

function sequentialNet(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ name: 'c1', inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ name: 'p1', poolSize: 2 }),
      tfl.layers.flatten({ name: 'f' }),
      tfl.layers.dense({ name: 'd1', units: 8 }),
      tfl.layers.activation({ name: 'a1', activation: 'relu' }),
      tfl.layers.dense({ name: 'logits', units: 3 }),
    ],
  });
}

describe('quantizeModel', () => {
  it('rebuilds a Sequential model with quantized layers, copies the weights, and matches the float model in fp mode', () => {
    const model = sequentialNet();
    const x = tf.randomNormal([5, 12, 12, 1], 0, 1, 'float32', 1);
    const float = quantizeModel(model, { method: 'fp' });
    expect(Array.from((float.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    const q = quantizeModel(model, { method: 'srq', weightBits: 4, activationBits: 4 });
    expect(q.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'QConv2D', 'QActivation', 'MaxPooling2D', 'Flatten', 'QDense', 'QActivation', 'QDense']);
    const out = q.predict(x) as tf.Tensor;
    expect(out.shape).toEqual([5, 3]);
    const reference = (model.predict(x) as tf.Tensor).dataSync();
    const diff = Array.from(out.dataSync()).reduce((s, v, i) => s + Math.abs(v - reference[i]!), 0) / reference.length;
    expect(diff).toBeLessThan(0.5); // 4-bit close to float, not equal
    expect(diff).toBeGreaterThan(0);
  });

  it('applies per-layer overrides and keeps first and last float on request', () => {
    const model = sequentialNet();
    const q = quantizeModel(model, { method: 'ste', weightBits: 2, activationBits: 2, overrides: { logits: { weightBits: 8 }, d1: { skip: true } } });
    q.predict(tf.zeros([1, 12, 12, 1]));
    expect(modelReport(q).bits).toEqual({ 'c1/weights': 2, 'c1_act/activations': 2, 'a1/activations': 2, 'logits/weights': 8 });
    const kept = quantizeModel(model, { method: 'ste', keepFirstLastFloat: true });
    kept.predict(tf.zeros([1, 12, 12, 1]));
    expect(Object.keys(modelReport(kept).bits)).toEqual(['c1_act/activations', 'd1/weights', 'a1/activations']);
  });

  it('rebuilds a functional model with a residual add', () => {
    const input = tfl.input({ shape: [8, 8, 2] });
    const a = tfl.layers.conv2d({ name: 'a', filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([a, input]) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ name: 'out', units: 2 }).apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const x = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 2);
    const fp = quantizeModel(model, { method: 'fp' });
    expect(Array.from((fp.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    expect(quantizeModel(model, { method: 'srq' }).layers.map((l) => l.getClassName())).toContain('Add');
  });

  it('lists every unsupported layer in one error', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ name: 'ok', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }),
        tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3 }),
        tfl.layers.flatten({ name: 'f' }),
        tfl.layers.dense({ name: 'sig', units: 2, activation: 'sigmoid' }),
      ],
    });
    expect(() => quantizeModel(model)).toThrow(UnsupportedLayerError);
    expect(() => quantizeModel(model)).toThrow(/cannot rebuild these layers: dw \(DepthwiseConv2D\), sig \(Dense with activation sigmoid\)/);
  });
});
