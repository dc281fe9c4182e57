import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSystem } from './fs-io';
import { exportPacked, loadPackedModel } from './packed-export';
import { packCodes, unpackCodes } from './packed-format';
import { serveDir } from './serve-dir.test-helper';
import { lenet5 } from './zoo';

const tmp = () => mkdtempSync(join(tmpdir(), 'srq-export-'));

describe('packed export', () => {
  it.each([1, 2, 3, 4, 5, 8])('packs and unpacks %i-bit codes', (bits) => {
    const minCode = -(2 ** (bits - 1));
    const codes = Array.from({ length: 37 }, (_, i) => minCode + ((i * 7) % 2 ** bits));
    const packed = packCodes(codes, bits, minCode);
    expect(packed.byteLength).toBe(Math.ceil((37 * bits) / 8));
    expect(Array.from(unpackCodes(packed, 37, bits, minCode))).toEqual(codes);
  });

  it('a trained 2-bit LeNet-5 exports ≥ 14× smaller than float32 and reloads with bit-identical outputs', async () => {
    const model = lenet5({ method: 'srq', weightBits: 2, activationBits: 2, dropBits: { p: 0.05 } });
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.randomUniform([4], 0, 10, 'int32', 2), 10);
    const opt = tf.train.adam(1e-3);
    for (let i = 0; i < 1; i++) opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    // reload the trained model from disk first: export works from a saved run
    const saved = tmp();
    await model.save(fileSystem(saved));
    const trained = await tfl.loadLayersModel(fileSystem(saved));
    const dir = tmp();
    const { packedBytes, floatBytes } = await exportPacked(trained, dir);
    expect(statSync(join(dir, 'weights.srqbin')).size).toBe(packedBytes);
    expect(floatBytes / packedBytes).toBeGreaterThanOrEqual(14);
    const loaded = await loadPackedModel(dir);
    const test = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 3);
    const expected = Array.from((model.predict(test) as tf.Tensor).dataSync());
    expect(Array.from((loaded.predict(test) as tf.Tensor).dataSync())).toEqual(expected);
    // the kernels of the loaded model are on the 2-bit grid
    const conv = loaded.getLayer('conv2') as unknown as { quantizedKernel(t: boolean): tf.Tensor; getWeights(): tf.Tensor[] };
    expect(Array.from(conv.getWeights()[0]!.dataSync())).toEqual(Array.from(conv.quantizedKernel(false).dataSync()));
  });

  it('learned bit-widths: each kernel packed at its learned bits as its sub-grid’s codes, and the same outputs after reloading', async () => {
    const model = lenet5({ method: 'srq', weightBits: 4, activationBits: 4, learnBits: { init: 3, lrScale: 1 } });
    // the gates of the two lowest bits of every quantizer closed: 2 of 4 bits learned (weights have
    // gates for bits 1 and 2 only, above their floor of 2 bits; activations for bits 1 to 3)
    for (const w of model.weights.filter((v) => /_log_a$/.test(v.name))) w.write(tf.tensor1d(Array.from({ length: w.shape[0]! }, (_, j) => (j < 2 ? -3 : 3))));
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 5);
    const expected = Array.from((model.predict(x) as tf.Tensor).dataSync());
    const dir = tmp();
    const { packedBytes, floatBytes } = await exportPacked(model, dir);
    expect(floatBytes / packedBytes).toBeGreaterThanOrEqual(14); // 2 bits per weight, not 4
    const loaded = await loadPackedModel(dir);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(expected);
  });
});

describe('loading a packed export over HTTP (as browsers do)', () => {
  it('loadPackedModelFromUrl gives the outputs of loadPackedModel, and a clear error for a missing file', async () => {
    const { loadPackedModelFromUrl } = await import('./packed-format');
    const dir = tmp();
    const model = lenet5({ method: 'srq', weightBits: 2, activationBits: 3 });
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3);
    model.predict(x); // initialises the quantizers
    await exportPacked(model, dir);
    const server = await serveDir(dir);
    try {
      const viaHttp = await loadPackedModelFromUrl(server.url('model.json'));
      const viaFs = await loadPackedModel(dir);
      expect(Array.from((viaHttp.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((viaFs.predict(x) as tf.Tensor).dataSync()));
      await expect(loadPackedModelFromUrl(server.url('missing/model.json'))).rejects.toThrow(/Could not fetch .*missing\/model\.json \(HTTP 404\)/);
    } finally {
      server.close();
    }
  });
});
