// Data-parallel training (@srq/cli's DataParallel, worker threads of the built package): the
// averaged gradients equal one thread's gradients of the whole batch, for a float and a quantized
// LeNet-5 (no DropBits, so both are deterministic), and a replica that does not match is refused.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@srq/backends';
import { DataParallel, shardGradients, type ReplicaRecipe } from '@srq/cli';
import { ZOO, type ModelQuantConfig } from '@srq/models';
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
      const out = parallel.gradients(model, x, y);
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

  it('refuses a replica whose weights differ from the model', async () => {
    const model = ZOO.lenet5({ method: 'fp' });
    await expect(DataParallel.start(recipe({ method: 'srq', weightBits: 2, activationBits: 2 }), 1, model, 8)).rejects.toThrow(/data-parallel worker failed to start: the replica's weights .* differ/);
  });
});
