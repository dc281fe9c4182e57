import * as tf from '@tensorflow/tfjs-core';
import { SRQ_FUSED_KERNEL, type SrqFusedAttrs } from '@srq/quantizers';
import { runSrqFused } from './srq-wasm';
import { cpuMemory, wasmMemory, type KernelMemory } from './kernel-memory';

function fusedKernel(backendName: 'wasm' | 'cpu', memory: (backend: tf.KernelBackend) => KernelMemory): tf.KernelConfig {
  return {
    kernelName: SRQ_FUSED_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, alpha, ratio, drops } = inputs as Record<string, tf.TensorInfo>;
      const m = memory(backend as tf.KernelBackend);
      // views of the backend's memory: read completely before any output is allocated
      const out = runSrqFused(
        m.read(x!) as Float32Array,
        m.read(alpha!) as Float32Array,
        m.read(ratio!) as Float32Array,
        drops ? (m.read(drops) as Int32Array) : null,
        attrs as unknown as SrqFusedAttrs,
      );
      return [m.output(x!.shape, out.value), m.output(x!.shape, out.dx), m.output(x!.shape, out.drho), m.output([out.dropCounts.length], out.dropCounts)];
    },
  };
}

/**
 * The fused `srq` quantizer kernel of `@srq/quantizers` (forward value and per-element backward
 * derivatives in one pass) for the wasm and cpu backends: the WebAssembly SIMD build
 * ({@link runSrqFused}) once `loadSrqWasm` has run (`useBackend` does), else the JavaScript
 * `srqFused`.
 */
export const FUSED_SRQ_KERNELS: tf.KernelConfig[] = [fusedKernel('wasm', wasmMemory), fusedKernel('cpu', cpuMemory)];
