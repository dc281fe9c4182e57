import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSystem } from './fs-io';
import { ModelFileError, sealModelJson } from './model-file';
import { modelReport } from './model-report';
import { QActivation } from './q-activation';
import { QConv2D } from './q-conv2d';
import { QDense } from './q-dense';
import { lenet5, resnet20, vgg7 } from './zoo';
import { quantSlots, seekRandomStreams } from './random-streams';
import type { DropBits } from '@srq/dropbits';

const tmp = () => mkdtempSync(join(tmpdir(), 'srq-models-'));
const quant = (bits: number, signed = true, method: 'srq' | 'rq' | 'ste' = 'srq') => ({ quantizer: { bits, signed, method } });

async function roundTrip(model: tfl.LayersModel, x: tf.Tensor): Promise<void> {
  const before = (model.predict(x) as tf.Tensor).dataSync();
  const dir = tmp();
  await model.save(fileSystem(dir));
  const loaded = await tfl.loadLayersModel(fileSystem(dir));
  const after = (loaded.predict(x) as tf.Tensor).dataSync();
  expect(Array.from(after)).toEqual(Array.from(before));
  expect(loaded.getWeights().map((w) => w.shape)).toEqual(model.getWeights().map((w) => w.shape));
}

describe('quantized layers', () => {
  it.each([
    ['QConv2D', () => new QConv2D({ inputShape: [8, 8, 2], filters: 3, kernelSize: 3, padding: 'same', weightQuant: quant(3) }), [2, 8, 8, 2]],
    ['QDense', () => new QDense({ inputShape: [6], units: 4, weightQuant: { ...quant(2), dropBits: { p: 0.2 } } }), [3, 6]],
    ['QActivation', () => new QActivation({ inputShape: [5], activationQuant: { ...quant(2, false), bitGates: { lambda: 0.1 } } }), [3, 5]],
  ] as const)('%s saves and reloads with identical inference outputs (after a training step moved α)', async (_, make, shape) => {
    const model = tfl.sequential({ layers: [make()] });
    const x = tf.randomNormal([...shape], 0, 1, 'float32', 3);
    const opt = tf.train.adam(0.05);
    opt.minimize(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
    await roundTrip(model, x);
  });

  it('a saved layer records whether σ trains, and a file without it (written before srq kept σ fixed by default) loads with σ learned', async () => {
    const model = tfl.sequential({ layers: [new QDense({ inputShape: [4], units: 2, weightQuant: quant(2) }), new QActivation({ activationQuant: quant(2, false, 'rq') })] });
    model.predict(tf.ones([1, 4]));
    const dir = tmp();
    await model.save(fileSystem(dir));
    const sigmaTrains = (m: tfl.LayersModel) => m.trainableWeights.filter((w) => w.name.includes('log_sigma')).map((w) => w.name.split('/')[0]);
    expect(sigmaTrains(model)).toEqual([model.layers[1]!.name]); // srq: fixed by default; rq: learned
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const quantizers = json.modelTopology.config.layers.map((l: { config: Record<string, { quantizer: Record<string, unknown> }> }) => (l.config.weight_quant ?? l.config.activation_quant)!.quantizer);
    expect(quantizers.map((q: Record<string, unknown>) => q.learn_sigma)).toEqual([false, true]);
    expect(sigmaTrains(await tfl.loadLayersModel(fileSystem(dir)))).toEqual(sigmaTrains(model));
    for (const q of quantizers) delete q.learn_sigma; // as files written before it was saved
    const { srq: seal, ...rest } = json;
    writeFileSync(file, JSON.stringify(sealModelJson(rest, seal.weights)));
    const old = await tfl.loadLayersModel(fileSystem(dir));
    expect(sigmaTrains(old)).toEqual(old.layers.map((l) => l.name));
  });

  it('the weight quantizer rounds the kernel to the grid at inference; the bias stays float', () => {
    const layer = new QDense({ inputShape: [16], units: 8, weightQuant: quant(2) });
    const model = tfl.sequential({ layers: [layer] });
    model.predict(tf.ones([1, 16]));
    const alpha = layer.slot!.quantizer.alpha().dataSync()[0]!;
    const codes = Array.from(layer.quantizedKernel(false).dataSync(), (v) => Math.round(v / alpha));
    expect(new Set(codes).size).toBeLessThanOrEqual(4);
    expect(Math.min(...codes)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...codes)).toBeLessThanOrEqual(1);
  });

  it('model.fit() trains the weights, the quantizer steps and the bit gates (their penalty is a layer loss)', async () => {
    const model = tfl.sequential({
      layers: [
        new QDense({ inputShape: [8], units: 16, weightQuant: { ...quant(4), bitGates: { lambda: 0.05 } } }),
        new QActivation({ activationQuant: quant(3, false) }),
        new QDense({ units: 2, weightQuant: quant(4) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.02), loss: (yTrue: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits) });
    const x = tf.randomNormal([256, 8], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.cast(tf.greater(tf.sum(x, 1), 0), 'int32'), 2);
    model.predict(x); // builds and initialises the quantizers
    expect(model.calculateLosses()).toHaveLength(1); // the gate penalty, which fit() adds to the loss
    const gates = model.layers[0]!.trainableWeights.find((w) => w.name.includes('log_a'))!;
    const before = gates.read().dataSync().slice();
    const history = await model.fit(x, tf.cast(y, 'float32'), { epochs: 30, batchSize: 64, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    expect(Array.from(gates.read().dataSync())).not.toEqual(Array.from(before));
  });
});

describe('zoo', () => {
  it('LeNet-5 (32C5-MP2-64C5-MP2-512FC) has the RQ shapes, 4 quantized weights and 3 quantized activations', () => {
    const m = lenet5({ method: 'srq', weightBits: 2, activationBits: 2 });
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
    expect(m.countParams()).toBe(5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 1024 * 512 + 512 + 512 * 10 + 10 + 7 * 2 + 4 + 3);
    m.predict(tf.zeros([1, 28, 28, 1]));
    const r = modelReport(m);
    expect(r.quantized.map((q) => `${q.layer}/${q.tensor}`)).toEqual(['conv1/weights', 'act1/activations', 'conv2/weights', 'act2/activations', 'fc1/weights', 'act3/activations', 'fc2/weights']);
    expect(r.floatBytes / r.modelBytes).toBeGreaterThan(14);
    expect(lenet5({ method: 'fp' }).countParams()).toBe(5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 1024 * 512 + 512 + 512 * 10 + 10);
  });

  it('reports MACs and bit operations per image with the bits of each layer and of its input', () => {
    const m = lenet5({ method: 'srq', weightBits: 2, activationBits: 4 });
    const r = modelReport(m);
    expect(r.compute).toEqual([
      { layer: 'conv1', macs: 24 * 24 * 5 * 5 * 32, weightBits: 2, inputBits: 8, bops: 24 * 24 * 5 * 5 * 32 * 2 * 8 }, // 8-bit pixels
      { layer: 'conv2', macs: 8 * 8 * 5 * 5 * 32 * 64, weightBits: 2, inputBits: 4, bops: 8 * 8 * 5 * 5 * 32 * 64 * 2 * 4 }, // act1 through the pooling
      { layer: 'fc1', macs: 1024 * 512, weightBits: 2, inputBits: 4, bops: 1024 * 512 * 8 },
      { layer: 'fc2', macs: 512 * 10, weightBits: 2, inputBits: 4, bops: 512 * 10 * 8 },
    ]);
    expect(r.bopsPerImage).toBe(r.compute.reduce((a, c) => a + c.bops, 0));
    expect(r.averageBits).toBeCloseTo((4 * 2 + 3 * 4) / 7, 10);
    const f = modelReport(lenet5({ method: 'fp' }));
    expect(f.compute.map((c) => [c.weightBits, c.inputBits])).toEqual([[32, 32], [32, 32], [32, 32], [32, 32]]);
    const res = modelReport(resnet20({ method: 'srq', weightBits: 2, activationBits: 3 }));
    expect(res.compute.find((c) => c.layer === 's2b1_proj')!.inputBits).toBe(3); // the block input, through the add
  });

  it('initialises the kernels from the config seed: the same seed gives the same weights', () => {
    const kernels = (seed: number) => lenet5({ method: 'fp', seed }).getWeights().map((w) => Array.from(w.dataSync()));
    expect(kernels(3)).toEqual(kernels(3));
    expect(kernels(3)[0]).not.toEqual(kernels(4)[0]);
  });

  it('takes per-tensor bits from layerBits and refuses keys of tensors the model does not have', () => {
    const m = lenet5({ method: 'srq', weightBits: 4, activationBits: 4, layerBits: { 'conv2/weights': 2, 'act1/activations': 3 } });
    expect(modelReport(m).bits).toEqual({ 'conv1/weights': 4, 'act1/activations': 3, 'conv2/weights': 2, 'act2/activations': 4, 'fc1/weights': 4, 'act3/activations': 4, 'fc2/weights': 4 });
    expect(() => lenet5({ method: 'srq', layerBits: { 'conv3/weights': 2 } })).toThrow(/layerBits = "conv3\/weights".*conv1\/weights/);
  });

  it('a learnBits target is one budget for the whole model: the average expected bits, so layers can differ', () => {
    const model = lenet5({ method: 'srq', weightBits: 4, activationBits: 4, learnBits: { targetBits: 2.5 } });
    const x = tf.randomUniform([2, 28, 28, 1]);
    model.apply(x, { training: true }); // a Sequential collects its layers' losses once called
    const gates = model.layers.flatMap((l) => {
      const g = (l as unknown as { slot?: { regularized: { regularizer: unknown } } | null }).slot?.regularized.regularizer;
      return g ? [g as { config: { lambda: number }; penalty(): tf.Scalar; logA: tf.Variable }] : [];
    });
    expect(gates).toHaveLength(7);
    expect(gates.every((g) => g.config.lambda === 0)).toBe(true); // no per-quantizer pressure
    const losses = () => model.calculateLosses().map((l) => l.dataSync()[0]!);
    const average = () => gates.reduce((a, g) => a + g.penalty().dataSync()[0]!, 0) / gates.length;
    const total = losses().reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1 * (average() - 2.5), 4); // λ = 1 (BUDGET_LAMBDA) times the excess
    // weights stop at 2 bits (their signed 1-bit grid {-α, 0} has no positive value), activations at 1
    expect(gates.map((g) => g.logA.shape[0])).toEqual([2, 3, 2, 3, 2, 3, 2]);
    // five tensors at their floor bring the average under budget: no penalty, although the other
    // two still hold ~4 bits each
    for (const g of gates.slice(2)) g.logA.assign(tf.fill(g.logA.shape, -1));
    expect(average()).toBeCloseTo((2 * 3.97 + 2 + 1 + 2 + 1 + 2) / 7, 1);
    expect(average()).toBeLessThan(2.5);
    expect(losses().reduce((a, b) => a + b, 0)).toBe(0);
    // without a target each quantizer pays λ·E[bits] itself
    const free = lenet5({ method: 'srq', weightBits: 4, activationBits: 4, learnBits: { lambda: 0.01 } });
    free.apply(x, { training: true });
    expect(free.calculateLosses().filter((l) => l.dataSync()[0]! > 0)).toHaveLength(7);
  });

  it("saves the gates' floor with the model, and loads a file written before it with gates down to 1 bit", async () => {
    const x = tf.randomUniform([2, 28, 28, 1]);
    const floors = (json: { modelTopology: { config: { layers: { config: Record<string, { bit_gates?: Record<string, unknown> } | undefined> }[] } } }) =>
      json.modelTopology.config.layers.flatMap((l) => {
        const gates = (l.config.weight_quant ?? l.config.activation_quant)?.bit_gates;
        return gates ? [gates.min_bits] : [];
      });
    const model = lenet5({ method: 'srq', weightBits: 3, activationBits: 3, learnBits: { targetBits: 2.5 } });
    model.predict(x);
    await roundTrip(model, x);
    const dir = tmp();
    await model.save(fileSystem(dir));
    const file = join(dir, 'model.json');
    expect(floors(JSON.parse(readFileSync(file, 'utf8')))).toEqual([2, 1, 2, 1, 2, 1, 2]);
    // as a file written before the floor: gates down to 1 bit, b - 1 = 2 logits for every tensor
    const before = lenet5({ method: 'srq', weightBits: 3, activationBits: 3, learnBits: { targetBits: 2.5, minBits: 1 } });
    before.predict(x);
    await before.save(fileSystem(dir));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    for (const l of json.modelTopology.config.layers) delete (l.config.weight_quant ?? l.config.activation_quant)?.bit_gates?.min_bits;
    expect(floors(json)).toEqual(Array(7).fill(undefined));
    const { srq: seal, ...rest } = json;
    writeFileSync(file, JSON.stringify(sealModelJson(rest, seal.weights)));
    const loaded = await tfl.loadLayersModel(fileSystem(dir));
    expect(loaded.getWeights().map((w) => w.shape)).toEqual(before.getWeights().map((w) => w.shape));
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((before.predict(x) as tf.Tensor).dataSync()));
  });

  it('VGG-7 and ResNet-20 build for CIFAR-shaped input and run forward', () => {
    const v = vgg7({ method: 'ste', weightBits: 4, activationBits: 4 });
    expect(v.outputs[0]!.shape).toEqual([null, 10]);
    const r = resnet20({ method: 'srq', weightBits: 2, activationBits: 2 });
    expect(r.outputs[0]!.shape).toEqual([null, 10]);
    const out = r.predict(tf.randomNormal([2, 32, 32, 3])) as tf.Tensor;
    expect(out.shape).toEqual([2, 10]);
    expect(r.layers.filter((l) => l.getClassName() === 'QConv2D').length).toBe(19 + 2); // 19 convs + 2 projections
  });
});

describe('file-system IO handler', () => {
  it('keeps one weights file per save and reports a missing model clearly', async () => {
    const dir = tmp();
    const m = lenet5({ method: 'fp' });
    await m.save(fileSystem(dir));
    await m.save(fileSystem(dir));
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toHaveLength(0);
    await expect(tfl.loadLayersModel(fileSystem(join(dir, 'nope')))).rejects.toThrow(ModelFileError);
    await expect(tfl.loadLayersModel(fileSystem(join(dir, 'nope')))).rejects.toThrow(/No saved model in .*nope \(missing model.json\)/);
  });
});

describe('seekRandomStreams', () => {
  it("sets every DropBits' annealed p for the step, on weights and activations", () => {
    const m = lenet5({ method: 'srq', weightBits: 2, activationBits: 2, dropBits: { p: 0.4, anneal: 10 } });
    const drops = () => quantSlots(m).map((slot) => (slot.regularized.regularizer as DropBits).currentP);
    expect(drops()).toHaveLength(7);
    seekRandomStreams(m, 5);
    expect(drops().every((p) => Math.abs(p - 0.2) < 1e-12)).toBe(true);
    seekRandomStreams(m, 10);
    expect(drops().every((p) => p === 0)).toBe(true);
  });
});
