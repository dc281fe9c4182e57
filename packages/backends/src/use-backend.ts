import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors';
import { srqWasmLoaded } from './srq-wasm';
import { registerSrqKernels } from './register-kernels';

/** Backends {@link useBackend} can select. */
export const BACKEND_NAMES = ['wasm', 'cpu', 'node-gpu', 'auto'] as const;
/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What {@link useBackend} selected. */
export interface BackendInfo {
  /** The tfjs backend now active (`'wasm'`, `'cpu'` or `'tensorflow'` for node-gpu). */
  backend: string;
  /** The name that was asked for. */
  requested: BackendName;
  /** WASM SIMD in use (null when not wasm). */
  simd: boolean | null;
  /** Threads the backend computes with. */
  threads: number;
  /** How the fused srq quantizer kernel computes: WebAssembly SIMD, JavaScript, or not used (node-gpu). */
  fusedQuantizer: 'wasm-simd' | 'javascript' | null;
  /** Why backends tried before this one (with 'auto') were not used. */
  skipped: string[];
}

/** The one-line message when tfjs-node-gpu cannot be used. */
export const NODE_GPU_HINT =
  "install it with `npm install @tensorflow/tfjs-node-gpu` (needs CUDA; its install downloads libtensorflow); '--backend auto' falls back to wasm";

const dynamicImport = (specifier: string): Promise<unknown> => import(specifier);

async function loadWasm(): Promise<void> {
  await dynamicImport('@tensorflow/tfjs-backend-wasm');
}

async function loadCpu(): Promise<void> {
  await dynamicImport('@tensorflow/tfjs-backend-cpu');
}

async function loadNodeGpu(): Promise<void> {
  try {
    await dynamicImport('@tensorflow/tfjs-node-gpu');
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    throw new BackendError(`The node-gpu backend is unavailable (${reason}): ${NODE_GPU_HINT}.`, { backend: 'node-gpu' });
  }
}

async function select(name: 'wasm' | 'cpu' | 'node-gpu'): Promise<string> {
  const loaders = { wasm: loadWasm, cpu: loadCpu, 'node-gpu': loadNodeGpu };
  await loaders[name]();
  const backend = name === 'node-gpu' ? 'tensorflow' : name;
  if (!(await tf.setBackend(backend))) throw new BackendError(`The ${name} backend failed to initialise.`, { backend: name });
  await tf.ready();
  // after initialisation, so that the kernels we replace have been set up (the baseline uses them)
  if (name !== 'node-gpu') {
    await registerSrqKernels(name);
  }
  return backend;
}

/**
 * Loads and activates a backend for training: `'wasm'` (default; SIMD, with the training kernels
 * tfjs-backend-wasm lacks), `'cpu'` (plain JavaScript, slow), `'node-gpu'` (CUDA through
 * `@tensorflow/tfjs-node-gpu`, an optional peer dependency imported only here), or `'auto'`
 * (node-gpu, else wasm, else cpu).
 *
 * @returns what was selected, with the reasons backends were skipped
 * @throws {@link BackendError} with a one-line reason (for node-gpu: the install command and the fallback)
 * @example
 * ```ts
 * const info = await useBackend('wasm'); // { backend: 'wasm', simd: true, threads: 1, ... }
 * ```
 */
export async function useBackend(name: BackendName = 'wasm'): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new BackendError(`Unknown backend "${name}"; allowed: ${BACKEND_NAMES.join(', ')}.`, { backend: String(name) });
  }
  const order: Array<'wasm' | 'cpu' | 'node-gpu'> = name === 'auto' ? ['node-gpu', 'wasm', 'cpu'] : [name];
  const skipped: string[] = [];
  for (const candidate of order) {
    try {
      const backend = await select(candidate);
      const fusedQuantizer = backend === 'tensorflow' ? null : srqWasmLoaded() ? 'wasm-simd' : 'javascript';
      return { backend, requested: name, ...(await capabilities(backend)), fusedQuantizer, skipped };
    } catch (e) {
      if (order.length === 1) throw e;
      skipped.push(`${candidate}: ${(e as Error).message}`);
    }
  }
  throw new BackendError(`No backend could be loaded: ${skipped.join('; ')}`, { backend: name });
}

/** SIMD and thread count of the active backend. */
export async function capabilities(backend: string): Promise<{ simd: boolean | null; threads: number }> {
  if (backend !== 'wasm') return { simd: null, threads: backend === 'tensorflow' ? 0 : 1 };
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const wasm = (await dynamicImport('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount?: () => number };
  return { simd, threads: wasm.getThreadsCount?.() ?? 1 };
}
