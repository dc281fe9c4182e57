// How SRQ's straight-through gradient depends on σ (results/README.md, "SRQ's σ drifts"): prints
// ∂x̂/∂x of a 4-bit srq quantizer in training mode, for x at the centre of a cell, a quarter of
// the way to its edge, and just inside the edge, for several σ/α (1/3 is the init; the drifted
// values are those `srq eval` reports for the Fashion-MNIST 4/4 runs). α = 1. The forward value
// is the nearest grid point whatever σ is; only this gradient changes. Run after `npm run build`:
//   node scripts/srq-gradient.mjs [σ/α,σ/α,...]
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@srq/backends';
import { Quantizer } from '@srq/quantizers';

const ratios = (process.argv[2] ?? '0.3333,0.2,0.138,0.08').split(',').map(Number);
if (!ratios.every((r) => Number.isFinite(r) && r > 0)) {
  process.stderr.write('usage: node scripts/srq-gradient.mjs [σ/α,σ/α,...] (each a number > 0)\n');
  process.exit(2);
}
await useBackend('wasm');
const positions = { centre: 0, quarter: 0.25, edge: 0.5 - 1e-4 };
const x = tf.tensor1d(Object.values(positions));
console.log('| σ/α | ' + Object.keys(positions).join(' | ') + ' | centre / edge |');
console.log('| --- |' + ' --- |'.repeat(Object.keys(positions).length + 1));
for (const ratio of ratios) {
  const q = new Quantizer({ bits: 4, method: 'srq', sigmaInit: ratio, learnSigma: false });
  q.build(x.shape);
  q.logAlpha.assign(tf.scalar(0)); // α = 1: x is in code units
  q.markInitialized();
  const grad = Array.from(tf.grad((v) => q.apply(v, { training: true }))(x).dataSync());
  const cells = grad.map((g) => g.toFixed(3));
  console.log(`| ${ratio} | ${cells.join(' | ')} | 1/${(grad[2] / grad[0]).toFixed(0)} |`);
}
