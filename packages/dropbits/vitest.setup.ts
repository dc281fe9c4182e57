// Tests run on the CPU backend, with op gradients registered the way applications get them
// (importing tfjs-layers): gate gradients flow through ordinary tfjs ops.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

await tf.setBackend('cpu');
