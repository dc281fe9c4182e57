import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './wasm/conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './wasm/conv2d-backprop-input';
import { batchMatMulConfig } from './wasm/batch-mat-mul';
import { maxPoolGradConfig } from './wasm/max-pool-grad';
import { unsortedSegmentSumConfig } from './wasm/unsorted-segment-sum';
import { identityConfig } from './wasm/identity';
import { depthwiseConv2dBackpropFilterConfig, depthwiseConv2dBackpropInputConfig } from './wasm/depthwise-conv2d-backprop';
import { STOCK_KERNELS } from './stock-kernels';
import { FUSED_SRQ_KERNELS } from './fused-srq-kernel';
import { INT_CONV_KERNELS } from './int-conv-kernel';

/** The kernels that make a backend train quantized conv nets fast, per backend. */
export const TRAINING_KERNELS: Record<'wasm' | 'cpu', tf.KernelConfig[]> = {
  wasm: [conv2dBackpropFilterConfig, conv2dBackpropInputConfig, depthwiseConv2dBackpropInputConfig, depthwiseConv2dBackpropFilterConfig, batchMatMulConfig, maxPoolGradConfig, unsortedSegmentSumConfig, identityConfig, ...FUSED_SRQ_KERNELS.filter((k) => k.backendName === 'wasm')],
  cpu: FUSED_SRQ_KERNELS.filter((k) => k.backendName === 'cpu'),
};

/** The kernels that run packed models on integers (`INT_CONV_KERNEL`), per backend. */
export const INFERENCE_KERNELS: Record<'wasm' | 'cpu', tf.KernelConfig[]> = {
  wasm: INT_CONV_KERNELS.filter((k) => k.backendName === 'wasm'),
  cpu: INT_CONV_KERNELS.filter((k) => k.backendName === 'cpu'),
};

const registered = new Set<string>();

/**
 * Registers {@link TRAINING_KERNELS} and {@link INFERENCE_KERNELS} for one backend, replacing the backend's own kernel of the
 * same name where it has one. Idempotent. Call after the backend is initialised (`tf.setBackend`).
 */
export function registerTrainingKernels(backend: 'wasm' | 'cpu'): void {
  if (registered.has(backend)) return;
  for (const config of [...TRAINING_KERNELS[backend], ...INFERENCE_KERNELS[backend]]) {
    const stock = tf.getKernel(config.kernelName, config.backendName);
    if (stock) {
      STOCK_KERNELS.set(config.kernelName, stock);
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
  registered.add(backend);
}
