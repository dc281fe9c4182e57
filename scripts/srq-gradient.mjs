// How SRQ's straight-through gradient depends on σ (results/README.md, "SRQ's σ drifts"): prints
// ∂x̂/∂x of a 4-bit srq quantizer in training mode, for x at the centre of a cell, a quarter of
// the way to its edge, and just inside the edge, for several σ/α (1/3 is the init; the drifted
// values are those `srq eval` reports for the Fashion-MNIST 4/4 runs). α = 1. The forward value
// is the nearest grid point whatever σ is; only this gradient changes. A second table gives the
// gradient at the centre of a cell averaged over gradient-only DropBits' drops (p per element,
// `--dropbits-pick full`: d low bits dropped with P(d ≥ j) = p^j, the forward unchanged): a
// dropped bit moves the categorical onto a coarser sub-grid, whose cell edges fall on the codes it
// drops, so an element on such a code gets the edge's gradient. Run after `npm run build`:
//   node scripts/srq-gradient.mjs [σ/α,σ/α,...] [p]
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@srq/backends';
import { Quantizer } from '@srq/quantizers';

const ratios = (process.argv[2] ?? '0.3333,0.2,0.138,0.08').split(',').map(Number);
const p = Number(process.argv[3] ?? 0.1);
if (!ratios.every((r) => Number.isFinite(r) && r > 0) || !(p >= 0 && p < 1)) {
  process.stderr.write('usage: node scripts/srq-gradient.mjs [σ/α,σ/α,...] [p] (each σ/α > 0, 0 ≤ p < 1)\n');
  process.exit(2);
}
await useBackend('wasm');
const positions = { centre: 0, quarter: 0.25, edge: 0.5 - 1e-4 };
const x = tf.tensor1d(Object.values(positions));
console.log('| σ/α | ' + Object.keys(positions).join(' | ') + ' | centre / edge |');
console.log('| --- |' + ' --- |'.repeat(Object.keys(positions).length + 1));
/** ∂x̂/∂x at `at` (code units) of a 4-bit srq quantizer with α = 1, with `drop` low bits dropped from the gradient's categorical. */
function gradient(ratio, at, drop = 0) {
  const q = new Quantizer({ bits: 4, method: 'srq', sigmaInit: ratio, learnSigma: false });
  q.build(at.shape);
  q.logAlpha.assign(tf.scalar(0)); // α = 1: x is in code units
  q.markInitialized();
  return Array.from(tf.grad((v) => q.apply(v, { training: true, mask: { drop, pick: 'full' } }))(at).dataSync());
}
for (const ratio of ratios) {
  const grad = gradient(ratio, x);
  const cells = grad.map((g) => g.toFixed(3));
  console.log(`| ${ratio} | ${cells.join(' | ')} | 1/${(grad[2] / grad[0]).toFixed(0)} |`);
}

// The centres of the cells of codes 0 (kept whatever drops), 1 (an odd code: dropped with one bit) and 2 (dropped with two or more).
const centres = tf.tensor1d([0, 1, 2]);
const dropped = [0, 1, 2, 3].map((d) => p ** d - (d < 3 ? p ** (d + 1) : 0)); // P(d), d ≤ b − 1
console.log(`\nAt the centre of a cell, without DropBits and averaged over gradient-only DropBits' drops (p = ${p} per element):\n`);
console.log('| σ/α | no drop | code ≡ 0 mod 4 | odd code | code ≡ 2 mod 4 |');
console.log('| --- | --- | --- | --- | --- |');
for (const ratio of ratios) {
  const perDrop = dropped.map((_, d) => gradient(ratio, centres, d));
  const mean = [0, 1, 2].map((i) => dropped.reduce((sum, weight, d) => sum + weight * perDrop[d][i], 0));
  console.log(`| ${ratio} | ${perDrop[0][0].toFixed(3)} | ${mean.map((g) => g.toFixed(3)).join(' | ')} |`);
}
