import { loadIntConvWasm } from './int-conv-kernel';
import { registerTrainingKernels } from './register-training-kernels';
import { loadSrqWasm } from './srq-wasm';

/**
 * Compiles our WebAssembly SIMD builds (the fused quantizer, the integer inference kernels) and
 * registers our kernels for an initialised `wasm` or `cpu` backend: training kernels and integer
 * inference. `useBackend` calls it; in browsers, where the page picks its tfjs backend, call it
 * after `tf.setBackend` so that packed models run on integers.
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * await registerSrqKernels('wasm');
 * const model = await loadPackedModelFromUrl('/models/lenet5-w2a2/model.json'); // on integers
 * ```
 */
export async function registerSrqKernels(backend: 'wasm' | 'cpu'): Promise<void> {
  await Promise.all([loadSrqWasm(), loadIntConvWasm()]);
  registerTrainingKernels(backend);
}
