import type * as tf from '@tensorflow/tfjs-core';

/**
 * The backends' own kernels that `registerTrainingKernels` replaced, by kernel name: the stock
 * baseline of `srq bench`, and the fallback of our kernels for layouts they do not handle.
 */
export const STOCK_KERNELS = new Map<string, tf.KernelConfig>();
