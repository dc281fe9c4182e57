import * as tf from '@tensorflow/tfjs-core';

/** What the active backend holds: the numbers a leak makes grow. */
export interface BackendMemory {
  /** Live tensors (`tf.memory().numTensors`). */
  tensors: number;
  /** Bytes of the live tensors' data (`tf.memory().numBytes`). */
  bytes: number;
  /** Size of the WebAssembly heap on wasm (it grows and never shrinks), null elsewhere. */
  heapBytes: number | null;
}

/**
 * The active backend's memory: live tensors, their bytes and, on wasm, the WebAssembly heap.
 * Cheap (no device read): soak tests and `srq bench --soak` call it every step.
 *
 * @example
 * ```ts
 * const before = backendMemory();
 * trainSomeSteps();
 * backendMemory().tensors - before.tensors; // 0 when nothing leaks
 * ```
 */
export function backendMemory(): BackendMemory {
  const { numTensors, numBytes } = tf.memory();
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return { tensors: numTensors, bytes: numBytes, heapBytes: wasm?.HEAPU8 ? wasm.HEAPU8.buffer.byteLength : null };
}
