import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystem } from './fs-io';
import { modelReport } from './model-report';
import { exportPacked, loadPackedModel } from './packed-export';
import { loadPackedModelFromUrl } from './packed-format';
import { serveDir } from './serve-dir.test-helper';
import { QActivation } from './q-activation';
import { QDepthwiseConv2D } from './q-depthwise-conv2d';
import { quantizeModel, UnsupportedLayerError } from './quantize-model';
import { mobilenetv2 } from './mobilenetv2';

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
        tfl.layers.conv2d({ name: 'dilated', filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' }),
        tfl.layers.reshape({ name: 'r', targetShape: [16, 4] }),
        tfl.layers.thresholdedReLU({ name: 'thr' }),
      ],
    });
    expect(() => quantizeModel(model)).toThrow(UnsupportedLayerError);
    expect(() => quantizeModel(model)).toThrow(/cannot rebuild these layers: dilated \(Conv2D dilated\), thr \(ThresholdedReLU\)/);
  });

  it('quantizes a Dense layer on 3-D inputs over the last axis, and folds its BN', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ name: 'd', inputShape: [4, 6], units: 5 }), tfl.layers.batchNormalization({ name: 'bn' }), tfl.layers.activation({ name: 'r', activation: 'relu' })] });
    const x = tf.randomNormal([3, 4, 6], 0, 1, 'float32', 8);
    const fp = quantizeModel(model, { method: 'fp' });
    expect(maxDiff(fp.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBeLessThan(1e-5);
    const q = quantizeModel(model, { method: 'srq', weightBits: 4, activationBits: 4 });
    expect((q.predict(x) as tf.Tensor).shape).toEqual([3, 4, 5]);
    expect(Object.keys(modelReport(q).bits)).toEqual(['d/weights', 'r/activations']);
  });
});

/** The model of tensorflow/tfjs-examples' mnist-node (smaller): relu convolutions, dropout, a softmax output. */
function mnistNodeModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: [2, 2] }),
      tfl.layers.flatten(),
      tfl.layers.dropout({ rate: 0.25 }),
      tfl.layers.dense({ units: 16, activation: 'relu' }),
      tfl.layers.dropout({ rate: 0.5 }),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

/** A MobileNet-style block: conv without bias + BN + ReLU6, depthwise, 1×1 conv, a residual add, a separable conv, GAP, softmax. */
function mobileNetStyle(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  let x = tfl.layers.conv2d({ name: 'stem', filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ name: 'stem_relu', maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
  let y = tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ name: 'dw_bn' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ name: 'dw_relu', maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ name: 'project', filters: 8, kernelSize: 1, useBias: false }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ name: 'project_bn' }).apply(y) as tfl.SymbolicTensor;
  x = tfl.layers.add({ name: 'residual' }).apply([x, y]) as tfl.SymbolicTensor;
  x = tfl.layers.separableConv2d({ name: 'sep', filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ name: 'classes', units: 10, activation: 'softmax' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe.each<[string, () => tfl.LayersModel, number[]]>([
  ['the tfjs-examples mnist-node model', mnistNodeModel, [12, 12, 1]],
  ['a MobileNet-style model', mobileNetStyle, [8, 8, 3]],
])('quantizeModel of %s with only { method, weightBits, activationBits }', (_, build, shape) => {
  const config = { method: 'srq' as const, weightBits: 2, activationBits: 2 };
  const x = tf.randomUniform([6, ...shape], 0, 1, 'float32', 5);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'), 10);

  it('converts, trains with model.fit, and keeps its softmax output float', async () => {
    const q = quantizeModel(build(), config);
    q.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const history = await q.fit(x, y, { epochs: 2, batchSize: 6, verbose: 0 });
    expect(history.history.loss!.every((l) => Number.isFinite(l as number))).toBe(true);
    const out = q.predict(x) as tf.Tensor;
    expect(Array.from(tf.sum(out, 1).dataSync()).every((s) => Math.abs(s - 1) < 1e-4)).toBe(true);
    const report = modelReport(q);
    expect(report.compute.length).toBeGreaterThanOrEqual(4);
    expect(report.compute.every((c) => c.macs > 0 && c.weightBits === 2)).toBe(true);
    expect(Object.keys(report.bits).filter((k) => k.endsWith('/activations')).length).toBeGreaterThan(0);
  });

  it('saves and reloads with identical outputs', async () => {
    const q = quantizeModel(build(), config);
    const before = q.predict(x) as tf.Tensor;
    const dir = mkdtempSync(join(tmpdir(), 'srq-qm-'));
    await q.save(fileSystem(dir));
    const loaded = await tfl.loadLayersModel(fileSystem(dir));
    expect(maxDiff(loaded.predict(x) as tf.Tensor, before)).toBe(0);
  });

  it('exports packed and reloads with identical outputs', async () => {
    const q = quantizeModel(build(), config);
    const before = q.predict(x) as tf.Tensor;
    const dir = mkdtempSync(join(tmpdir(), 'srq-qm-'));
    const { packedBytes, floatBytes } = await exportPacked(q, dir);
    expect(packedBytes).toBeLessThan(floatBytes);
    const loaded = await loadPackedModel(dir);
    expect(maxDiff(loaded.predict(x) as tf.Tensor, before)).toBe(0);
  });
});

describe('activation quantizers by kind', () => {
  it.each<[string, 'signed' | 'unsigned' | 'none', number | null, () => tfl.layers.Layer]>([
    ['relu', 'unsigned', null, () => tfl.layers.activation({ activation: 'relu' })],
    ['relu6', 'unsigned', 6, () => tfl.layers.activation({ activation: 'relu6' })],
    ['ReLU(maxValue 4)', 'unsigned', 4, () => tfl.layers.reLU({ maxValue: 4 })],
    ['sigmoid', 'unsigned', 1, () => tfl.layers.activation({ activation: 'sigmoid' })],
    ['tanh', 'signed', null, () => tfl.layers.activation({ activation: 'tanh' })],
    ['elu', 'signed', null, () => tfl.layers.activation({ activation: 'elu' })],
    ['selu', 'signed', null, () => tfl.layers.activation({ activation: 'selu' })],
    ['swish', 'signed', null, () => tfl.layers.activation({ activation: 'swish' })],
    ['gelu', 'signed', null, () => tfl.layers.activation({ activation: 'gelu' })],
    ['LeakyReLU', 'signed', null, () => tfl.layers.leakyReLU({ alpha: 0.1 })],
    ['ELU layer', 'signed', null, () => tfl.layers.elu({ alpha: 1 })],
    ['PReLU', 'signed', null, () => tfl.layers.prelu({})],
    ['softmax', 'none', null, () => tfl.layers.activation({ activation: 'softmax' })],
  ])('%s → %s grid (initMax %s), the same function as the float layer', (_, kind, initMax, act) => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 5, name: 'd' }), act()] });
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 3);
    const fp = quantizeModel(model, { method: 'fp' });
    expect(maxDiff(fp.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBeLessThan(1e-6);
    const q = quantizeModel(model, { method: 'srq', weightBits: 4, activationBits: 4 });
    const acts = q.layers.filter((l): l is QActivation => l instanceof QActivation);
    const quant = acts.map((a) => a.activationQuant).find((c) => c);
    if (kind === 'none') expect(quant).toBeUndefined();
    else {
      expect(quant!.quantizer.signed).toBe(kind === 'signed');
      expect(quant!.quantizer.initMax ?? null).toBe(initMax);
    }
  });

  it('an override sets the kind per layer', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 5, name: 'd' }), tfl.layers.activation({ name: 't', activation: 'tanh' })] });
    const q = quantizeModel(model, { method: 'srq', overrides: { t: { activationQuant: 'unsigned' }, d: { activationQuant: 'signed' } } });
    const kinds = q.layers.filter((l): l is QActivation => l instanceof QActivation).map((a) => [a.name, a.activationQuant?.quantizer.signed]);
    expect(kinds).toEqual([['d_act', true], ['t', false]]);
  });

  it('a depthwise kernel gets one step per channel along its depth', () => {
    const model = tfl.sequential({ layers: [tfl.layers.depthwiseConv2d({ inputShape: [6, 6, 3], kernelSize: 3, depthMultiplier: 2, name: 'dw' })] });
    const q = quantizeModel(model, { method: 'srq', weightBits: 2 });
    q.predict(tf.zeros([1, 6, 6, 3]));
    const layer = q.getLayer('dw') as QDepthwiseConv2D;
    const kernel = layer.weights[0]!.read();
    expect(kernel.shape).toEqual([3, 3, 3, 2]);
    const codes = layer.slot!.codes(kernel);
    expect(codes.channelAxis).toBe(2);
    expect(codes.scale).toHaveLength(3);
  });
});

describe('BatchNormalization folding', () => {
  /** conv (no bias) → BN → ReLU, conv (bias) → BN, trained for a few steps so that BN is not the identity. */
  async function convBn(): Promise<tfl.LayersModel> {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ name: 'a', inputShape: [8, 8, 2], filters: 4, kernelSize: 3, useBias: false }),
        tfl.layers.batchNormalization({ name: 'a_bn' }),
        tfl.layers.activation({ name: 'a_relu', activation: 'relu' }),
        tfl.layers.conv2d({ name: 'b', filters: 3, kernelSize: 3 }),
        tfl.layers.batchNormalization({ name: 'b_bn', momentum: 0.5 }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
    await model.fit(tf.randomNormal([16, 8, 8, 2], 1, 2, 'float32', 1), tf.randomNormal([16, 4, 4, 3], 0, 1, 'float32', 2), { epochs: 5, verbose: 0 });
    return model;
  }

  it('folds each BN into the layer before it; in float the outputs equal the unfolded model within float rounding', async () => {
    const model = await convBn();
    const folded = quantizeModel(model, { method: 'fp' });
    expect(folded.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'QConv2D', 'QActivation', 'QConv2D']);
    const x = tf.randomNormal([4, 8, 8, 2], 1, 2, 'float32', 3);
    const ref = model.predict(x) as tf.Tensor;
    const scale = tf.max(tf.abs(ref)).dataSync()[0]!;
    const relative = maxDiff(folded.predict(x) as tf.Tensor, ref) / scale;
    console.log(`BN folding (float): largest output difference from the unfolded model ${relative.toExponential(2)} of the largest output`);
    expect(relative).toBeLessThan(1e-5);
    const unfolded = quantizeModel(model, { method: 'fp', foldBatchNorm: false });
    expect(unfolded.layers.map((l) => l.getClassName())).toContain('BatchNormalization');
  });

  it('trains on batch statistics (updating the moving averages) until the freeze, then on the moving averages', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ name: 'd', inputShape: [5], units: 3, useBias: false }), tfl.layers.batchNormalization({ name: 'bn', momentum: 0.5 })] });
    const q = quantizeModel(model, { method: 'srq', weightBits: 8, activationBits: 8, batchNormFreezeAfter: 2 });
    const layer = q.getLayer('d');
    const moving = () => layer.getWeights()[3]!.dataSync()[0]!; // kernel, gamma, beta, moving mean, …
    const x = tf.randomNormal([32, 5], 3, 1, 'float32', 4);
    const before = moving();
    tf.tidy(() => void q.apply(x, { training: true }));
    const after1 = moving();
    expect(after1).not.toBe(before);
    // with batch statistics, the training output is normalised over the batch
    const out = tf.tidy(() => tf.moments(q.apply(x, { training: true }) as tf.Tensor, 0).mean.dataSync());
    expect(Math.max(...Array.from(out, Math.abs))).toBeLessThan(0.1);
    const after2 = moving();
    tf.tidy(() => void q.apply(x, { training: true })); // step 3: frozen
    expect(moving()).toBe(after2);
    const frozen = tf.tidy(() => (q.apply(x, { training: true }) as tf.Tensor).dataSync());
    const inference = tf.tidy(() => (q.apply(x, { training: false }) as tf.Tensor).dataSync());
    expect(Array.from(frozen)).toEqual(Array.from(inference)); // srq: training forward = inference once frozen
  });

  it('exports the folded, quantized weights and no BN layer; the packed model gives identical outputs', async () => {
    const q = quantizeModel(await convBn(), { method: 'srq', weightBits: 4, activationBits: 4 });
    const x = tf.randomNormal([4, 8, 8, 2], 1, 2, 'float32', 3);
    const before = q.predict(x) as tf.Tensor;
    const dir = mkdtempSync(join(tmpdir(), 'srq-fold-'));
    await exportPacked(q, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const names: string[] = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names.filter((n) => /gamma|beta|moving|bn_steps/.test(n))).toEqual([]);
    expect(names).toContain('a/bias');
    const loaded = await loadPackedModel(dir);
    expect(loaded.layers.map((l) => l.getClassName())).not.toContain('BatchNormalization');
    expect(maxDiff(loaded.predict(x) as tf.Tensor, before)).toBe(0);
  });
});

describe('the zoo MobileNet-V2 (stock layers converted by quantizeModel)', () => {
  it('folds every BN, quantizes depthwise kernels per channel and ReLU6 outputs on [0, 6], and trains', async () => {
    // 16×16 inputs keep one training step on the cpu backend well inside the timeout on a 2-core CI machine.
    const model = mobilenetv2({ method: 'srq', weightBits: 2, activationBits: 2 }, { inputShape: [16, 16, 3] });
    const classes = model.layers.map((l) => l.getClassName());
    expect(classes).not.toContain('BatchNormalization');
    expect(classes.filter((c) => c === 'QDepthwiseConv2D')).toHaveLength(7);
    const relu6 = model.layers.find((l) => l.name === 'stem_relu6') as QActivation;
    expect(relu6.activationQuant!.quantizer.initMax).toBe(6);
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 10);
    model.compile({ optimizer: tf.train.adam(1e-3), loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.softmaxCrossEntropy(yt, yp) }); // logits out
    const history = await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    expect(Number.isFinite(history.history.loss![0] as number)).toBe(true);
    expect(modelReport(model).compute).toHaveLength(1 + 3 * 7 - 1 + 1 + 1);
  });
});

/** One Dense layer `l` called twice in a row (its weights and quantizers shared by both calls). */
function sharedDense(): tfl.LayersModel {
  const input = tfl.input({ shape: [6] });
  const shared = tfl.layers.dense({ name: 'l', units: 6, activation: 'relu' });
  const twice = shared.apply(shared.apply(input)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2 }).apply(twice) as tfl.SymbolicTensor });
}

/** A Sequential block (conv `l`, BN, ReLU) called inside a functional model. */
function nestedSequential(): tfl.LayersModel {
  const block = tfl.sequential({ name: 'block', layers: [tfl.layers.conv2d({ name: 'l', inputShape: [6, 6, 2], filters: 3, kernelSize: 3 }), tfl.layers.batchNormalization({ name: 'l_bn' }), tfl.layers.reLU({ name: 'l_relu' })] });
  const input = tfl.input({ shape: [6, 6, 2] });
  const features = tfl.layers.flatten().apply(block.apply(input)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2 }).apply(features) as tfl.SymbolicTensor });
}

describe('shared layers and nested models', () => {
  it('a shared layer is replaced once: both calls use the same quantized layer and activation quantizer', () => {
    const model = sharedDense();
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 7);
    expect(maxDiff(quantizeModel(model, { method: 'fp' }).predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
    const q = quantizeModel(model, { method: 'srq', weightBits: 2, activationBits: 2 });
    expect(q.layers.filter((l) => l.name === 'l')).toHaveLength(1);
    expect(q.getLayer('l').inboundNodes).toHaveLength(2);
    expect(q.getLayer('l_act').inboundNodes).toHaveLength(2);
    expect(q.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'QDense', 'QActivation', 'QDense']);
  });

  it('a nested model is inlined: its layers keep their names, its BN folds, and its outputs match in fp', () => {
    const model = nestedSequential();
    const x = tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 8);
    expect(maxDiff(quantizeModel(model, { method: 'fp' }).predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBeLessThan(1e-5);
    const q = quantizeModel(model, { method: 'srq', weightBits: 2, activationBits: 2, overrides: { l: { weightBits: 4 } } });
    expect(q.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'QConv2D', 'QActivation', 'Flatten', 'QDense']);
    q.predict(x);
    expect(modelReport(q).bits['l/weights']).toBe(4);
  });

  it('a nested model called twice shares its quantized layers between the calls', () => {
    const block = tfl.sequential({ layers: [tfl.layers.dense({ name: 'inner', inputShape: [4], units: 4, activation: 'tanh' })] });
    const input = tfl.input({ shape: [4] });
    const model = tfl.model({ inputs: input, outputs: block.apply(block.apply(input)) as tfl.SymbolicTensor });
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 9);
    expect(maxDiff(quantizeModel(model, { method: 'fp' }).predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
    const q = quantizeModel(model, { method: 'ste', weightBits: 3, activationBits: 3 });
    expect(q.getLayer('inner').inboundNodes).toHaveLength(2);
  });
});

describe.each<[string, () => tfl.LayersModel, () => tf.Tensor, string, number]>([
  ['Conv1D', () => tfl.sequential({ layers: [tfl.layers.conv1d({ name: 'l', inputShape: [10, 3], filters: 4, kernelSize: 3, activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] }), () => tf.randomNormal([3, 10, 3], 0, 1, 'float32', 1), 'QConv1D', 8 * 3 * 3 * 4],
  ['Conv2DTranspose', () => tfl.sequential({ layers: [tfl.layers.conv2dTranspose({ name: 'l', inputShape: [4, 4, 3], filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), tfl.layers.batchNormalization({}), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] }), () => tf.randomNormal([3, 4, 4, 3], 0, 1, 'float32', 2), 'QConv2DTranspose', 16 * 3 * 3 * 2 * 3],
  ['Embedding', () => tfl.sequential({ layers: [tfl.layers.embedding({ name: 'l', inputDim: 20, outputDim: 4, inputLength: 5 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] }), () => tf.tensor2d([[1, 2, 3, 4, 5], [0, 19, 7, 7, 1]]), 'QEmbedding', 0],
  ['DepthwiseConv2D', () => tfl.sequential({ layers: [tfl.layers.depthwiseConv2d({ name: 'l', inputShape: [6, 6, 3], kernelSize: 3, depthMultiplier: 2 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] }), () => tf.randomNormal([3, 6, 6, 3], 0, 1, 'float32', 3), 'QDepthwiseConv2D', 16 * 3 * 3 * 3 * 2],
  ['Dense on 3-D inputs', () => tfl.sequential({ layers: [tfl.layers.dense({ name: 'l', inputShape: [4, 6], units: 5 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] }), () => tf.randomNormal([3, 4, 6], 0, 1, 'float32', 4), 'QDense', 4 * 6 * 5],
  ['a shared Dense (called twice)', sharedDense, () => tf.randomNormal([3, 6], 0, 1, 'float32', 5), 'QDense', 2 * 6 * 6],
  ['a nested Sequential (conv + BN inside a functional model)', nestedSequential, () => tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 6), 'QConv2D', 4 * 4 * 3 * 3 * 2 * 3],
])('%s everywhere', (_, build, input, cls, macs) => {
  const quantized = () => quantizeModel(build(), { method: 'srq', weightBits: 2, activationBits: 2 });

  it('converts, and modelReport counts its bits and MACs', () => {
    const q = quantized();
    const layer = q.getLayer('l');
    expect(layer.getClassName()).toBe(cls);
    q.predict(input());
    const report = modelReport(q);
    expect(report.bits['l/weights']).toBe(2);
    const compute = report.compute.find((c) => c.layer === 'l');
    if (macs) expect(compute?.macs).toBe(macs);
    else expect(compute).toBeUndefined(); // a table lookup: no multiply-accumulates
  });

  it('trains a step, saves and reloads, and exports packed, with identical outputs', async () => {
    const q = quantized();
    const x = input();
    q.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
    await q.fit(x, tf.randomNormal([x.shape[0]!, 2], 0, 1, 'float32', 9), { epochs: 1, verbose: 0 });
    const before = q.predict(x) as tf.Tensor;
    const dir = mkdtempSync(join(tmpdir(), 'srq-layer-'));
    await q.save(fileSystem(join(dir, 'saved')));
    expect(maxDiff((await tfl.loadLayersModel(fileSystem(join(dir, 'saved')))).predict(x) as tf.Tensor, before)).toBe(0);
    await exportPacked(q, join(dir, 'packed'));
    expect(maxDiff((await loadPackedModel(join(dir, 'packed'))).predict(x) as tf.Tensor, before)).toBe(0);
    const server = await serveDir(join(dir, 'packed'));
    try {
      expect(maxDiff((await loadPackedModelFromUrl(server.url('model.json'))).predict(x) as tf.Tensor, before)).toBe(0);
    } finally {
      server.close();
    }
  });
});
