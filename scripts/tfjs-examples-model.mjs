#!/usr/bin/env node
// Writes the MNIST model of tensorflow/tfjs-examples' mnist-node (untrained, Glorot-initialised
// with a fixed seed) as a plain tfjs layers model — model.json + weights.bin, as tfjs-node's
// `model.save('file://…')` writes it — for `srq train --model-file` (the fine-tuning results).
// Usage: node scripts/tfjs-examples-model.mjs OUT_DIR [--input 28,28,1] [--classes 10]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [out, ...rest] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node scripts/tfjs-examples-model.mjs OUT_DIR [--input 28,28,1] [--classes 10]\n');
  process.exit(2);
}
const flag = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : fallback;
};
const inputShape = flag('--input', '28,28,1').split(',').map(Number);
const classes = Number(flag('--classes', '10'));
const seeded = (seed) => tf.initializers.glorotUniform({ seed });
const model = tf.sequential({
  layers: [
    tf.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(1) }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(2) }),
    tf.layers.maxPooling2d({ poolSize: [2, 2] }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(3) }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(4) }),
    tf.layers.maxPooling2d({ poolSize: [2, 2] }),
    tf.layers.flatten(),
    tf.layers.dropout({ rate: 0.25 }),
    tf.layers.dense({ units: 512, activation: 'relu', kernelInitializer: seeded(5) }),
    tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: seeded(6) }),
  ],
});
await model.save(
  tf.io.withSaveHandler(async (a) => {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'weights.bin'), Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData)));
    const json = { modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: null, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
    writeFileSync(join(out, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }),
);
process.stdout.write(`${join(out, 'model.json')}\n`);
