// Data-parallel training (@srq/cli's DataParallel, worker threads of the built package): the
// averaged gradients equal one thread's gradients of the whole batch, for a float and a quantized
// LeNet-5 (no DropBits, so both are deterministic), and a replica that does not match is refused;
// memory stays flat over many steps on the main thread and in the workers; a worker's failure
// reaches the caller with its own message, and a worker that exits does not hang the step.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@srq/backends';
import { backendMemory } from '@srq/backends';
import { DataParallel, reseededTopology, shardGradients, trainStep, type ReplicaRecipe } from '@srq/cli';
import * as tfl from '@tensorflow/tfjs-layers';
import { quantizeModel, seekRandomStreams, ZOO, type ModelQuantConfig } from '@srq/models';
import { beforeAll, describe, expect, it } from 'vitest';

const recipe = (quant: ModelQuantConfig): ReplicaRecipe => ({ model: 'lenet5', quant, inputShape: [28, 28, 1], numClasses: 10, backend: 'wasm' });

describe('DataParallel', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each<[string, ModelQuantConfig]>([
    ['float', { method: 'fp' }],
    ['SRQ 2/2', { method: 'srq', weightBits: 2, activationBits: 2 }],
  ])('%s: the gradients of 2 threads equal those of one', async (_, quant) => {
    const model = ZOO.lenet5(quant);
    const x = tf.randomUniform([24, 28, 28, 1], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.randomUniform([24], 0, 10, 'int32', 2), 10);
    tf.tidy(() => void model.apply(x, { training: true })); // initialises the quantizers
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const single = tf.tidy(() => {
      const out = shardGradients(model, variables, x, y);
      return { grads: out.grads.map((g) => g.dataSync() as Float32Array), loss: out.loss.dataSync()[0]!, hits: out.hits.dataSync()[0]! };
    });
    const parallel = await DataParallel.start(recipe(quant), 1, model, 24);
    try {
      expect(parallel.threads).toBe(2);
      const out = await parallel.gradients(model, x, y);
      expect(out.loss).toBeCloseTo(single.loss, 5);
      expect(out.hits).toBe(single.hits);
      variables.forEach((v, i) => {
        const got = out.grads[v.name]!.dataSync();
        const ref = single.grads[i]!;
        const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
        let worst = 0;
        for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(got[k]! - ref[k]!) / scale);
        expect(worst, v.name).toBeLessThan(1e-4);
      });
      tf.dispose(Object.values(out.grads));
    } finally {
      await parallel.close();
      tf.dispose([x, y]);
    }
  });

  it("a replica of a user's model (built from its topology) draws its own DropBits masks", async () => {
    const float = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [16], units: 16, activation: 'relu' }), tfl.layers.dense({ units: 4 })] });
    const model = quantizeModel(float, { method: 'srq', weightBits: 3, activationBits: 3, dropBits: { p: 0.3, granularity: 'element' } });
    const x = tf.randomUniform([8, 16], 0, 1, 'float32', 3);
    const outputs = async (topology: object) => {
      const replica = await tfl.models.modelFromJSON(topology as never);
      replica.setWeights(model.getWeights());
      seekRandomStreams(replica, 5);
      return tf.tidy(() => Array.from((replica.apply(x, { training: true }) as tf.Tensor).dataSync()));
    };
    const topology = model.toJSON(null, false) as object;
    expect(await outputs(topology)).toEqual(await outputs(topology)); // the same seeds draw the same masks
    expect(await outputs(reseededTopology(topology, 7919))).not.toEqual(await outputs(topology));
    tf.dispose(x);
  });

  it('keeps the tensors and bytes flat over 40 data-parallel training steps, on the main thread and in the worker', async () => {
    const quant: ModelQuantConfig = { method: 'srq', weightBits: 2, activationBits: 2, dropBits: { p: 0.05 } };
    const model = ZOO.lenet5(quant);
    const optimizer = tf.train.adam(1e-3);
    const x = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32', 4), 10);
    await trainStep(model, optimizer, x, y, null); // initialises the quantizers
    const parallel = await DataParallel.start(recipe(quant), 1, model, 32);
    try {
      const at: Array<{ main: ReturnType<typeof backendMemory>; workers: ReturnType<typeof backendMemory>[] }> = [];
      for (let step = 1; step <= 40; step++) {
        await trainStep(model, optimizer, x, y, parallel);
        if (step === 10 || step === 40) at.push({ main: backendMemory(), workers: parallel.workerMemory() });
      }
      const [early, late] = at as [(typeof at)[0], (typeof at)[0]];
      expect(late.main.tensors).toBe(early.main.tensors);
      expect(late.main.bytes).toBe(early.main.bytes);
      expect(late.workers[0]!.tensors).toBeGreaterThan(0);
      expect(late.workers[0]!.tensors).toBe(early.workers[0]!.tensors);
      expect(late.workers[0]!.bytes).toBe(early.workers[0]!.bytes);
      expect(late.workers[0]!.heapBytes).toBe(early.workers[0]!.heapBytes);
    } finally {
      await parallel.close();
      optimizer.dispose();
      tf.dispose([x, y]);
    }
  });

  it.each<['throw' | 'exit', RegExp]>([
    ['throw', /^data-parallel worker 1 failed: injected fault at request 2$/],
    ['exit', /^data-parallel worker 1 exited \(code 3\)$/],
  ])('a worker that fails (%s) ends the step with its reason', async (kind, reason) => {
    const quant: ModelQuantConfig = { method: 'fp' };
    const model = ZOO.lenet5(quant);
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.randomUniform([8], 0, 10, 'int32', 2), 10);
    const parallel = await DataParallel.start({ ...recipe(quant), fault: { at: 2, kind } }, 1, model, 8);
    try {
      const before = backendMemory().tensors;
      tf.dispose(Object.values((await parallel.gradients(model, x, y)).grads));
      await expect(parallel.gradients(model, x, y)).rejects.toThrow(reason);
      expect(backendMemory().tensors).toBe(before);
      await expect(parallel.gradients(model, x, y)).rejects.toThrow(/data-parallel worker 1/);
    } finally {
      await parallel.close();
      tf.dispose([x, y]);
    }
  });

  it('refuses a replica whose weights differ from the model', async () => {
    const model = ZOO.lenet5({ method: 'fp' });
    await expect(DataParallel.start(recipe({ method: 'srq', weightBits: 2, activationBits: 2 }), 1, model, 8)).rejects.toThrow(/data-parallel worker failed to start: the replica's weights .* differ/);
  });
});
