// A worker thread of {@link DataParallel}: builds a replica of the model, then for every request
// copies the main thread's weights into it, computes the gradients of its share of the batch and
// writes them back, all through shared memory. Errors go back through shared memory too: the main
// thread waits on an atomic and would not see a message posted to its event loop.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers'; // also registers the op gradients
import { parentPort, workerData } from 'node:worker_threads';
import { backendMemory, useBackend } from '@srq/backends';
import { seekRandomStreams, ZOO } from '@srq/models';
import { CTRL, reportWorkerError, reportWorkerMemory, shardGradients, STOP, type ReplicaRecipe, type WorkerBuffers } from './data-parallel';

interface Data {
  recipe: ReplicaRecipe;
  buffers: WorkerBuffers;
  weightShapes: number[][];
}

/** Copies the shared weights into the replica's variables (the temporary tensors are freed). */
function loadWeights(weights: tfl.LayerVariable[], shared: Float32Array): void {
  let offset = 0;
  for (const w of weights) {
    const size = w.shape.reduce((a, b) => a! * b!, 1)!;
    const values = shared.subarray(offset, offset + size);
    tf.tidy(() => (w.read() as tf.Variable).assign(tf.tensor(values, w.shape as number[])));
    offset += size;
  }
}

async function main(): Promise<void> {
  const { recipe, buffers, weightShapes } = workerData as Data;
  await useBackend(recipe.backend);
  const model = recipe.topology ? await tfl.models.modelFromJSON(recipe.topology as never) : ZOO[recipe.model](recipe.quant, { inputShape: recipe.inputShape, numClasses: recipe.numClasses });
  const shapes = model.weights.map((w) => w.shape as number[]);
  if (JSON.stringify(shapes) !== JSON.stringify(weightShapes)) throw new Error(`the replica's weights ${JSON.stringify(shapes)} differ from the model's ${JSON.stringify(weightShapes)}`);
  const ctrl = new Int32Array(buffers.ctrl);
  const input = new Float32Array(buffers.input);
  const output = new Float32Array(buffers.output);
  const weights = new Float32Array(buffers.weights);
  const imageSize = recipe.inputShape.reduce((a, b) => a * b, 1);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  parentPort!.postMessage({ ready: true });
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL.request, seen);
    const request = Atomics.load(ctrl, CTRL.request);
    if (request === STOP) return;
    seen = request;
    try {
      if (recipe.fault?.at === request) {
        if (recipe.fault.kind === 'exit') process.exit(3);
        throw new Error(`injected fault at request ${request}`);
      }
      const rows = Atomics.load(ctrl, CTRL.rows);
      if (rows > 0) {
        loadWeights(model.weights, weights);
        const step = Atomics.load(ctrl, CTRL.step);
        if (step >= 0) seekRandomStreams(model, step);
        tf.tidy(() => {
          const x = tf.tensor(input.subarray(0, rows * imageSize), [rows, ...recipe.inputShape]);
          const y = tf.tensor(input.subarray(rows * imageSize, rows * (imageSize + recipe.numClasses)), [rows, recipe.numClasses]);
          const { grads, loss, hits } = shardGradients(model, variables, x, y);
          let at = 0;
          for (const g of grads) {
            output.set(g.dataSync() as Float32Array, at);
            at += g.size;
          }
          output[at] = loss.dataSync()[0]!;
          output[at + 1] = hits.dataSync()[0]!;
        });
      }
      reportWorkerMemory(buffers, backendMemory());
    } catch (e) {
      reportWorkerError(buffers, (e as Error).message ?? String(e));
    }
    Atomics.store(ctrl, CTRL.done, request);
    Atomics.notify(ctrl, CTRL.done);
  }
}

main().catch((e: Error) => {
  reportWorkerError((workerData as Data).buffers, e.message);
  parentPort!.postMessage({ error: e.message });
});
