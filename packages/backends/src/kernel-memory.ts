import type * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './wasm/kernel-calls';

/** The typed-array access a backend gives a JavaScript kernel. */
export interface KernelMemory {
  read(t: tf.TensorInfo): tf.backend_util.TypedArray;
  /** Allocates an output holding a copy of `values`. */
  output(shape: number[], values: Float32Array): tf.TensorInfo;
}

/** The wasm backend's tensors: views of its heap. */
export function wasmMemory(backend: tf.KernelBackend): KernelMemory {
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

/** The cpu backend's tensors: its typed arrays. */
export function cpuMemory(backend: tf.KernelBackend): KernelMemory {
  const b = backend as unknown as {
    data: { get(id: tf.DataId): { values: tf.backend_util.TypedArray } };
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  return {
    read: (t) => b.data.get(t.dataId).values,
    output: (shape, values) => b.makeTensorInfo(shape, 'float32', values.slice()),
  };
}
