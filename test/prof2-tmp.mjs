import { srqFused } from '@srq/quantizers';
const N = 64 * 24 * 24 * 32;
const xs = new Float32Array(N); for (let i = 0; i < N; i++) xs[i] = Math.max(0, Math.random() * 4 - 2);
const attrs = { minCode: 0, maxCode: 3, step: 1, bits: 2, window: 4, inner: N, drop: 0, dropP: 0, seed: 1, pick: 'nearest' };
for (let k = 0; k < 3; k++) { const t0 = performance.now(); srqFused(xs, new Float32Array([0.5]), new Float32Array([1/3]), null, attrs); console.log('ms', (performance.now() - t0).toFixed(1)); }
