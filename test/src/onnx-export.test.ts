// ONNX export (QDQ) run in ONNX Runtime Web (WebAssembly, in Node): the committed demo model gives
// our tfjs inference's predictions on the whole MNIST test set; a MobileNet-style model converted by
// quantizeModel (folded BN, ReLU6, depthwise, residual add, separable, global pooling) gives its outputs on
// synthetic images; the file is a well-formed ModelProto (opset, shapes, every name defined, bits
// in the metadata); unsupported layers are named in one error.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-web';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@srq/backends';
import { batches, loadDataset } from '@srq/datasets';
import { exportOnnx, loadPackedModel, ONNX_BITS_METADATA, ONNX_OPSET, OnnxExportError, OnnxModelProto, quantizeModel, toOnnx, type OnnxQuantizedTensor } from '@srq/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { mobileNetStyle } from './mobilenet-style';
import { repoRoot } from './node-run';

const DEMO = join(repoRoot, 'apps/docs/public/models/lenet5-w2a2');

/**
 * ONNX Runtime's session options for each check: `exact` keeps the QDQ graph's float arithmetic
 * (`disable_quant_qdq`: no fusion into its integer kernels), `fast` is its default, which runs
 * Q/DQ-wrapped convolutions and Gemms on its integer kernels with each bias rounded to a multiple
 * of α_x·α_w (specification §11).
 */
const EXACT: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'], extra: { session: { disable_quant_qdq: '1' } } };
const FAST: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'] };

/** Runs an ONNX model on `x` (tfjs shape) in ONNX Runtime Web; returns the first output. */
async function runOnnx(session: ort.InferenceSession, x: tf.Tensor): Promise<tf.Tensor> {
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) };
  const out = (await session.run(feeds))[session.outputNames[0]!]!;
  return tf.tensor(out.data as Float32Array, out.dims as number[]);
}

/** The decoded ModelProto, int64s as numbers. */
function decode(bytes: Uint8Array) {
  return OnnxModelProto.toObject(OnnxModelProto.decode(bytes), { longs: Number, defaults: true }) as {
    irVersion: number;
    opsetImport: { domain: string; version: number }[];
    metadataProps: { key: string; value: string }[];
    graph: {
      node: { opType: string; input: string[]; output: string[] }[];
      initializer: { name: string; dataType: number; dims: number[] }[];
      input: { name: string; type: { tensorType: { shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
      output: { name: string; type: { tensorType: { shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
    };
  };
}

const maxAbs = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);

describe('ONNX export', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    ort.env.wasm.numThreads = 1;
  }, 60_000);

  it('the demo model: a well-formed QDQ ModelProto with 2-bit codes, the float graph’s predictions on all 10,000 MNIST test images in ONNX Runtime', async () => {
    const model = await loadPackedModel(DEMO, { integer: false });
    const file = join(mkdtempSync(join(tmpdir(), 'srq-onnx-')), 'lenet5.onnx');
    const { bytes } = exportOnnx(model, file);
    const onnx = readFileSync(file);
    expect(onnx.byteLength).toBe(bytes);
    const m = decode(onnx);
    expect(m.opsetImport).toEqual([{ domain: '', version: ONNX_OPSET }]);
    // every node input is a graph input, an initializer or an earlier node's output; outputs are unique
    const defined = new Set([...m.graph.input.map((i) => i.name), ...m.graph.initializer.map((i) => i.name), '']);
    for (const n of m.graph.node) {
      for (const i of n.input) expect(defined.has(i), `${n.opType} reads undefined ${i}`).toBe(true);
      for (const o of n.output) {
        expect(defined.has(o), `${o} defined twice`).toBe(false);
        defined.add(o);
      }
    }
    for (const o of m.graph.output) expect(defined.has(o.name)).toBe(true);
    const dims = (v: (typeof m.graph.input)[number]) => v.type.tensorType.shape.dim.map((d) => d.dimParam || d.dimValue);
    expect(m.graph.input.map(dims)).toEqual([['batch', 28, 28, 1]]);
    expect(m.graph.output.map(dims)).toEqual([['batch', 10]]);
    const ops = new Set(m.graph.node.map((n) => n.opType));
    for (const op of ['Conv', 'MaxPool', 'Gemm', 'QuantizeLinear', 'DequantizeLinear', 'Clip', 'Flatten', 'Transpose']) expect(ops, op).toContain(op);
    // the bits of every quantized tensor: four 2-bit kernels, stored as int8 codes in [−2, 1]
    const quantized = JSON.parse(m.metadataProps.find((p) => p.key === ONNX_BITS_METADATA)!.value) as Record<string, OnnxQuantizedTensor>;
    const weights = Object.entries(quantized).filter(([, q]) => q.kind === 'weight');
    expect(weights.map(([, q]) => q.layer)).toEqual(['conv1', 'conv2', 'fc1', 'fc2']);
    for (const [name, q] of weights) {
      const init = m.graph.initializer.find((i) => i.name === name)!;
      expect(init.dataType, name).toBe(3); // INT8
      expect(q.bits, name).toBe(2);
    }
    expect(Object.values(quantized).filter((q) => q.kind === 'activation').length).toBeGreaterThanOrEqual(3);

    const mnist = loadDataset('mnist');
    const modes = [['exact', EXACT], ['fast', FAST]] as const;
    const sessions = await Promise.all(modes.map(([, options]) => ort.InferenceSession.create(onnx, options)));
    const stats = modes.map(() => ({ disagree: 0, worst: 0 }));
    let largest = 0;
    for (const batch of batches(mnist, mnist.test, { batchSize: 1000 })) {
      const ours = model.predict(batch.x) as tf.Tensor;
      largest = Math.max(largest, maxAbs(ours));
      for (const [k, session] of sessions.entries()) {
        const theirs = await runOnnx(session, batch.x);
        stats[k]!.worst = Math.max(stats[k]!.worst, maxAbs(tf.sub(ours, theirs)));
        stats[k]!.disagree += tf.tidy(() => tf.sum(tf.notEqual(tf.argMax(ours, 1), tf.argMax(theirs, 1))).dataSync()[0]!);
        theirs.dispose();
      }
      tf.dispose([ours, batch.x, batch.y]);
    }
    await Promise.all(sessions.map((s) => s.release()));
    modes.forEach(([mode], k) => console.log(`ONNX Runtime (${mode}) vs tfjs on the MNIST test set: ${stats[k]!.disagree} of 10000 predictions differ; largest logit difference ${stats[k]!.worst.toExponential(2)} (largest logit ${largest.toFixed(2)})`));
    const [exact, fast] = stats as [{ disagree: number; worst: number }, { disagree: number; worst: number }];
    expect(exact.disagree).toBe(0);
    expect(exact.worst).toBeLessThan(1e-5 * largest);
    // ORT's integer kernels round each bias to a multiple of α_x·α_w: a few activations move to a neighbouring code
    expect(fast.disagree).toBeLessThanOrEqual(10);
    expect(fast.worst).toBeLessThan(0.1 * largest);
  }, 300_000);

  it('a MobileNet-style model from quantizeModel at 2/2 (folded BN, ReLU6, depthwise, residual add, separable, global pooling, softmax): the same outputs in ONNX Runtime', async () => {
    const model = quantizeModel(mobileNetStyle(), { method: 'srq', weightBits: 2, activationBits: 2 });
    const x = tf.randomUniform([8, 16, 16, 3], 0, 1, 'float32', 3);
    const ours = model.predict(x) as tf.Tensor; // also initialises the quantizers from these images
    expect(maxAbs(ours)).toBeGreaterThan(0.01);
    const onnx = toOnnx(model);
    const ops = new Set(decode(onnx).graph.node.map((n) => n.opType));
    for (const op of ['Conv', 'Add', 'GlobalAveragePool', 'Gemm', 'Softmax']) expect(ops, op).toContain(op);
    expect(ops).not.toContain('BatchNormalization'); // folded into the convolutions
    const session = await ort.InferenceSession.create(onnx, EXACT);
    const theirs = await runOnnx(session, x);
    await session.release();
    const worst = maxAbs(tf.sub(ours, theirs));
    const agree = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(ours, 1), tf.argMax(theirs, 1)), 'int32')).dataSync()[0]!);
    console.log(`MobileNet-style 2/2, ONNX Runtime vs tfjs: largest output difference ${worst.toExponential(2)} (largest ${maxAbs(ours).toFixed(2)}); ${agree} of 8 argmax equal`);
    // float rounding differs between the runtimes; where it moves a value across a quantizer's
    // rounding boundary the two take neighbouring codes (specification §11): rare
    expect(agree).toBe(8);
    expect(worst).toBeLessThan(1e-3 * maxAbs(ours));
    tf.dispose([x, ours, theirs]);
  }, 300_000);

  it('learned bit-widths (bit gates closed to 2 of 4 bits): the sub-grid’s step and range, the same outputs in ONNX Runtime', async () => {
    let seed = 70;
    const k = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed++ }) });
    const model = tfl.sequential({ layers: [
      tfl.layers.conv2d({ ...k(), inputShape: [8, 8, 2], filters: 6, kernelSize: 3, activation: 'relu' }),
      tfl.layers.flatten(), tfl.layers.dense({ ...k(), units: 4 }),
    ] });
    // the gates of the two lowest bits closed (logit −3): 2 of 4 bits learned (the weights' gates
    // are those of bits 1 and 2, above their floor of 2 bits; the activations' those of bits 1 to 3)
    const q = quantizeModel(model, { method: 'srq', weightBits: 4, activationBits: 4, learnBits: { init: 3, lrScale: 1 } });
    for (const w of q.weights.filter((v) => /_log_a$/.test(v.name))) w.write(tf.tensor1d(Array.from({ length: w.shape[0]! }, (_, j) => (j < 2 ? -3 : 3))));
    const x = tf.randomUniform([6, 8, 8, 2], 0, 1, 'float32', 11);
    const ours = q.predict(x) as tf.Tensor;
    const onnx = toOnnx(q);
    const quantized = JSON.parse(decode(onnx).metadataProps.find((p) => p.key === ONNX_BITS_METADATA)!.value) as Record<string, OnnxQuantizedTensor>;
    expect(Object.values(quantized).map((t) => t.bits)).toEqual([2, 2, 2]); // conv and dense kernels, the ReLU's activations
    // the weights as 2-bit codes of the sub-grid (its step α·4), not as multiples of 4 in the 4-bit grid
    for (const init of decode(onnx).graph.initializer.filter((i) => quantized[i.name])) {
      const values = new Int8Array(Uint8Array.from((init as unknown as { rawData: Uint8Array }).rawData).buffer);
      expect(Math.min(...values), init.name).toBeGreaterThanOrEqual(-2);
      expect(Math.max(...values), init.name).toBeLessThanOrEqual(1);
      expect(new Set(values).size, init.name).toBeGreaterThan(2);
    }
    const session = await ort.InferenceSession.create(onnx, EXACT);
    const theirs = await runOnnx(session, x);
    await session.release();
    const worst = maxAbs(tf.sub(ours, theirs));
    console.log(`learned bits (2 of 4), ONNX Runtime vs tfjs: largest output difference ${worst.toExponential(2)} (largest ${maxAbs(ours).toFixed(2)})`);
    expect(maxAbs(ours)).toBeGreaterThan(0.05);
    expect(worst).toBeLessThan(1e-3 * maxAbs(ours));
    tf.dispose([x, ours, theirs]);
  }, 120_000);

  it('names every layer it cannot write, in one error, and writes nothing', () => {
    const input = tfl.input({ shape: [4, 6] });
    const h = tfl.layers.layerNormalization().apply(input) as tfl.SymbolicTensor;
    const out = tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: 2 }) }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const file = join(mkdtempSync(join(tmpdir(), 'srq-onnx-')), 'bad.onnx');
    expect(() => exportOnnx(model, file)).toThrow(OnnxExportError);
    expect(() => exportOnnx(model, file)).toThrow(/layer_normalization.*\(LayerNormalization\).*\(TimeDistributed\)/);
    expect(() => readFileSync(file)).toThrow();
    model.dispose();
  });

  it('a quantized model of Conv1D, Conv2DTranspose, concatenation, average pooling and upsampling: the same outputs in ONNX Runtime', async () => {
    let seed = 40;
    const k = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed++ }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed++ }) });
    const input = tfl.input({ shape: [12, 12, 3] });
    const a = tfl.layers.conv2d({ ...k(), filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
    let h = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
    h = tfl.layers.conv2dTranspose({ ...k(), filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.upSampling2d({ size: [2, 2] }).apply(tfl.layers.maxPooling2d({ poolSize: 4 }).apply(h) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    h = tfl.layers.reshape({ targetShape: [36, 4] }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.conv1d({ ...k(), filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ ...k(), units: 3 }).apply(tfl.layers.flatten().apply(h) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const q = quantizeModel(tfl.model({ inputs: input, outputs: out }), { method: 'srq', weightBits: 4, activationBits: 4 });
    const x = tf.randomUniform([6, 12, 12, 3], 0, 1, 'float32', 9);
    const ours = q.predict(x) as tf.Tensor; // also initialises the quantizers
    const session = await ort.InferenceSession.create(toOnnx(q), EXACT);
    const theirs = await runOnnx(session, x);
    await session.release();
    const worst = maxAbs(tf.sub(ours, theirs));
    console.log(`Conv1D / Conv2DTranspose / concat / pools / upsampling 4/4, ONNX Runtime vs tfjs: largest output difference ${worst.toExponential(2)} (largest ${maxAbs(ours).toFixed(2)})`);
    expect(maxAbs(ours)).toBeGreaterThan(0.05);
    expect(worst).toBeLessThan(1e-3 * maxAbs(ours));
    tf.dispose([x, ours, theirs]);
  }, 120_000);
});
