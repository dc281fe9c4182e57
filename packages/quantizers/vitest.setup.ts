// Unit tests run the math on the CPU backend (the reference backend that kernels of
// @srq/backends are checked against). No op gradients are registered here on purpose: the
// quantizers' gradients are analytic (tf.customGrad) and must not depend on them.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

await tf.setBackend('cpu');
