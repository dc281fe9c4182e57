// Why RQ does not train LeNet-5 at 2-bit weights with σ = α/3 at init, and why σ = α/10 does
// (issue 6): prints the mean that each method's training-mode quantizer gives N(0, 0.1) weights on
// the 2-bit grid, the share of exact zeros an 8-bit activation quantizer keeps from ReLU outputs,
// and each layer's output statistics for one MNIST batch through a fresh LeNet-5 (w2/a8), for
// σ/α = 1/3 (the default) and 0.1 at init. Run after `npm run build`:
//   node scripts/diagnose-rq.mjs
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from '@srq/backends';
import { batches, loadDataset } from '@srq/datasets';
import { ZOO } from '@srq/models';
import { Quantizer } from '@srq/quantizers';

await useBackend('wasm');
const scalar = (t) => t.dataSync()[0];
const w = tf.randomNormal([20000], 0, 0.1, 'float32', 3);
const a = tf.relu(tf.randomNormal([20000], 0, 1, 'float32', 4));
const variants = [['srq'], ['rq'], ['rq-st'], ['rq', 0.1], ['rq-st', 0.1]];
for (const [method, sigmaInit] of variants) {
  const sigma = sigmaInit ? { sigmaInit } : {};
  const qw = new Quantizer({ bits: 2, method, seed: 1, ...sigma });
  qw.init(w);
  const qa = new Quantizer({ bits: 8, signed: false, method, seed: 2, ...sigma });
  qa.init(a);
  const zeros = (t) => scalar(tf.mean(tf.cast(tf.equal(t, 0), 'float32')));
  console.log(`${method}, σ/α = ${sigmaInit ?? '1/3'} at init: 2-bit weights mean ${scalar(tf.mean(w)).toFixed(4)} -> ${scalar(tf.mean(qw.apply(w, { training: true }))).toFixed(4)}; 8-bit activations zeros ${zeros(a).toFixed(2)} -> ${zeros(qa.apply(a, { training: true })).toFixed(2)}`);
}
const mnist = loadDataset('mnist');
const batch = batches(mnist, mnist.train, { batchSize: 64, shuffleSeed: 1 }).next().value;
for (const [method, sigmaInit] of [['srq'], ['rq'], ['rq', 0.1]]) {
  const model = ZOO.lenet5({ method, weightBits: 2, activationBits: 8, ...(sigmaInit ? { sigmaInit } : {}) });
  model.apply(batch.x, { training: true }); // initialises the quantizers
  const row = ['conv1', 'act1', 'conv2', 'act2', 'fc1', 'act3', 'fc2'].map((name) => {
    const y = tfl.model({ inputs: model.inputs, outputs: model.getLayer(name).output }).apply(batch.x, { training: true });
    return `${name} mean ${scalar(tf.mean(y)).toFixed(3)} std ${scalar(tf.sqrt(tf.moments(y).variance)).toFixed(3)}`;
  });
  console.log(`${method}, σ/α = ${sigmaInit ?? '1/3'} at init, LeNet-5 w2/a8, one MNIST batch: ${row.join('; ')}`);
}
