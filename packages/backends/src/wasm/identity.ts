import * as tf from '@tensorflow/tfjs-core';

/**
 * `Identity` for the wasm backend without a copy: the output shares the input's memory (one more
 * reference, as the backend's own `Reshape` does). tfjs runs it to keep every tensor a gradient
 * needs (`saveTensorsForBackwardMode`): the stock kernel copied each of them, 57 copies of up to
 * a batch's activations per LeNet-5 training step (`srq bench --profile`). No wasm kernel writes into its inputs,
 * so sharing is safe; the values are the same bits.
 */
export const identityConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    (backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};
