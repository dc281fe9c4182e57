import { srqFused, type SrqFusedAttrs } from '@srq/quantizers';
import { SRQ_FUSED_WASM } from './generated/srq-fused-wasm';
import { EmbeddedModule, heapPlacer } from './embedded-wasm';

/** The exports of assembly/srq-fused.ts. */
interface SrqWasmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchBytes(window: number, bits: number, channels: number): number;
  srqFused(
    n: number, x: number, alpha: number, ratio: number, channels: number, inner: number, drops: number, drop: number,
    dropP: number, seed: number, minCode: number, maxCode: number, step: number, bits: number, window: number,
    pick: number, relax: number, kappa: number, noiseSeed: number, value: number, dx: number, drho: number,
    counts: number, scratch: number,
  ): void;
}

/** Outputs of {@link runSrqFused}: views valid until the next call. */
export interface SrqFusedViews {
  value: Float32Array;
  dx: Float32Array;
  drho: Float32Array;
  dropCounts: Float32Array;
}

/** The kernel's `pick` argument per pick. */
const PICK = { nearest: 0, sample: 1, full: 2 } as const;

/** The kernel's `relax` argument per method. */
const RELAX = { srq: 0, rq: 1, 'rq-st': 2 } as const;

const wasm = new EmbeddedModule<SrqWasmExports>(SRQ_FUSED_WASM, 'srq-fused');
let enabled = true;

/**
 * Compiles the WebAssembly SIMD build of the fused `srq` kernel (assembly/srq-fused.ts), once.
 * Asynchronous because browsers refuse to compile modules over 4 KB synchronously on the main
 * thread. Resolves false where WebAssembly SIMD is unavailable; {@link runSrqFused} then computes
 * with the JavaScript `srqFused` of @srq/quantizers.
 */
export function loadSrqWasm(): Promise<boolean> {
  return wasm.load();
}

/** Whether {@link runSrqFused} uses the WebAssembly build. */
export function srqWasmLoaded(): boolean {
  return wasm.exports !== null;
}

/** Turns the WebAssembly build off (the JavaScript reference computes) or back on; for comparisons. */
export function enableSrqWasm(on: boolean): void {
  enabled = on;
}

/** Whether the WebAssembly build is turned on ({@link enableSrqWasm}). */
export function srqWasmEnabled(): boolean {
  return enabled;
}

/**
 * The fused `srq` pass (same contract as `srqFused` of @srq/quantizers) on the WebAssembly SIMD
 * build when loaded and enabled: the inputs are copied into its memory, the outputs are views of it (copy them
 * before the next call). Falls back to the JavaScript reference.
 */
export function runSrqFused(x: Float32Array, alpha: Float32Array, ratio: Float32Array, drops: Int32Array | null, attrs: SrqFusedAttrs): SrqFusedViews {
  const m = wasm.exports;
  if (!m || !enabled) return srqFused(x, alpha, ratio, drops, attrs);
  const n = x.length;
  const channels = alpha.length;
  const { place, fit } = heapPlacer(m.memory, m.heapBase());
  const scratch = place(m.scratchBytes(attrs.window, attrs.bits, channels));
  const px = place(4 * n);
  const pAlpha = place(4 * channels);
  const pRatio = place(4 * channels);
  const pDrops = drops ? place(4 * n) : 0;
  const pValue = place(4 * n);
  const pDx = place(4 * n);
  const pDrho = place(4 * n);
  const pCounts = place(4 * attrs.bits);
  fit();
  const heap = m.memory.buffer;
  new Float32Array(heap, px, n).set(x);
  new Float32Array(heap, pAlpha, channels).set(alpha);
  new Float32Array(heap, pRatio, channels).set(ratio);
  if (drops) new Int32Array(heap, pDrops, n).set(drops);
  m.srqFused(
    n, px, pAlpha, pRatio, channels, attrs.inner, pDrops, attrs.drop, attrs.dropP, attrs.seed >>> 0,
    attrs.minCode, attrs.maxCode, attrs.step, attrs.bits, attrs.window, PICK[attrs.pick],
    RELAX[attrs.method ?? 'srq'], 1 / (attrs.temperature ?? 1), (attrs.noiseSeed ?? 0) >>> 0,
    pValue, pDx, pDrho, pCounts, scratch,
  );
  return {
    value: new Float32Array(heap, pValue, n),
    dx: new Float32Array(heap, pDx, n),
    drho: new Float32Array(heap, pDrho, n),
    dropCounts: new Float32Array(heap, pCounts, attrs.bits),
  };
}
