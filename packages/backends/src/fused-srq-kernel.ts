import * as tf from '@tensorflow/tfjs-core';
import { SRQ_FUSED_KERNEL, type SrqFusedAttrs } from '@srq/quantizers';
import { runSrqFused } from './srq-wasm';
import type { WasmHeap } from './wasm/kernel-calls';

/** The typed-array access a backend gives a JavaScript kernel. */
interface Memory {
  read(t: tf.TensorInfo): tf.backend_util.TypedArray;
  /** Allocates an output holding a copy of `values`. */
  output(shape: number[], values: Float32Array): tf.TensorInfo;
}

function wasmMemory(backend: tf.KernelBackend): Memory {
  const b = backend as unknown as WasmHeap;
  return {
    read: (t) => b.typedArrayFromHeap(t),
    output: (shape, values) => {
      const out = b.makeOutput(shape, 'float32');
      (b.typedArrayFromHeap(out) as Float32Array).set(values);
      return out;
    },
  };
}

function cpuMemory(backend: tf.KernelBackend): Memory {
  const b = backend as unknown as {
    data: { get(id: tf.DataId): { values: tf.backend_util.TypedArray } };
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  return {
    read: (t) => b.data.get(t.dataId).values,
    output: (shape, values) => b.makeTensorInfo(shape, 'float32', values.slice()),
  };
}

function fusedKernel(backendName: 'wasm' | 'cpu', memory: (backend: tf.KernelBackend) => Memory): tf.KernelConfig {
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
