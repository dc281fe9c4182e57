import { runSrqFused, loadSrqWasm } from './dist/index.js';
await loadSrqWasm();
const n = 64 * 24 * 24 * 32;
let s = 1;
const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return s / 4294967296; };
const mk = (zeros) => Float32Array.from({ length: n }, () => { const v = Math.abs(rnd() + rnd() + rnd() - 1.5) * 0.5; return rnd() < zeros ? 0 : v; });
const attrs = { minCode: 0, maxCode: 3, step: 1, bits: 2, window: 4, inner: 1, drop: 0, dropP: 0.05, seed: 7, pick: 'nearest' };
for (const zeros of [0, 0.5, 0.9]) {
  const x = mk(zeros);
  const a = Float32Array.of(0.3), r = Float32Array.of(1 / 3);
  runSrqFused(x, a, r, null, attrs);
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) runSrqFused(x, a, r, null, attrs);
  console.log('zeros', zeros, ((performance.now() - t0) / 10).toFixed(1), 'ms', (((performance.now() - t0) / 10) * 1e6 / n).toFixed(1), 'ns/elem');
}
