import * as tf from '@tensorflow/tfjs-core';
import { ModelConfigError } from './model-quant-config';

/** Options of an activation that has them: ReLU's `maxValue` clip, LeakyReLU's and ELU's `alpha`. */
export interface ActivationOptions {
  maxValue?: number | null;
  alpha?: number | null;
}

type Fn = (x: tf.Tensor, o: ActivationOptions) => tf.Tensor;

const sigmoid = (x: tf.Tensor) => tf.sigmoid(x);

/** The activations the quantized layers apply, by their tfjs-layers (and Keras) names. */
const FUNCTIONS: Record<string, Fn> = {
  linear: (x) => x,
  relu: (x, o) => (o.maxValue == null ? tf.relu(x) : tf.clipByValue(x, 0, o.maxValue)),
  relu6: (x) => tf.relu6(x),
  leaky_relu: (x, o) => tf.leakyRelu(x, o.alpha ?? 0.3),
  elu: (x, o) => (o.alpha == null || o.alpha === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(o.alpha, tf.sub(tf.exp(x), 1)))),
  selu: (x) => tf.selu(x),
  sigmoid,
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  tanh: (x) => tf.tanh(x),
  softplus: (x) => tf.softplus(x),
  softsign: (x) => tf.div(x, tf.add(tf.abs(x), 1)),
  swish: (x) => tf.mul(x, sigmoid(x)),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  gelu_new: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  softmax: (x) => tf.softmax(x),
};

/** tfjs-layers spellings mapped to the names above. */
const ALIASES: Record<string, string> = { hardSigmoid: 'hard_sigmoid', leakyReLU: 'leaky_relu', LeakyReLU: 'leaky_relu', geluNew: 'gelu_new' };

/** Activation names a quantized layer accepts. */
export const ACTIVATION_NAMES = Object.keys(FUNCTIONS);

/** The canonical name of an activation, or throws naming the allowed ones. */
export function activationName(name: string): string {
  const canonical = ALIASES[name] ?? name;
  if (!(canonical in FUNCTIONS)) throw new ModelConfigError('activation', name, ACTIVATION_NAMES.join(', '));
  return canonical;
}

/** Applies activation `name` (see {@link ACTIVATION_NAMES}) to `x`. */
export function applyActivation(name: string, x: tf.Tensor, options: ActivationOptions = {}): tf.Tensor {
  return FUNCTIONS[activationName(name)]!(x, options);
}

/** How the output of an activation is quantized by default (specification §6). */
export type ActivationQuantKind = 'signed' | 'unsigned' | 'none';

/**
 * The default activation quantizer after `name`: unsigned after ReLU-like functions whose
 * output is ≥ 0 (relu, relu6, sigmoid, hard_sigmoid, softplus), none after softmax (a
 * distribution: the loss's business) and after a linear map (a layer's raw output; `'signed'`
 * through an override), signed after the others (tanh, elu, selu, gelu, swish, mish, leaky_relu,
 * softsign).
 */
export function defaultActivationQuant(name: string): ActivationQuantKind {
  const n = activationName(name);
  if (n === 'linear' || n === 'softmax') return 'none';
  return ['relu', 'relu6', 'sigmoid', 'hard_sigmoid', 'softplus'].includes(n) ? 'unsigned' : 'signed';
}

/** The upper bound of an activation's output where it has one (ReLU6, ReLU with maxValue, sigmoid): the natural grid range. */
export function activationMax(name: string, options: ActivationOptions = {}): number | null {
  const n = activationName(name);
  if (n === 'relu6') return 6;
  if (n === 'relu') return options.maxValue ?? null;
  if (n === 'sigmoid' || n === 'hard_sigmoid') return 1;
  return null;
}
