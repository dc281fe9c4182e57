import * as tf from '@tensorflow/tfjs-core';
import { QuantizerInputError } from './errors';

/**
 * Per-tensor or per-channel layout of a quantizer's parameters (α, σ). Parameters have shape `[]`
 * (per tensor) or `[C]` (per channel along `axis` of the quantized tensor).
 */
export interface ChannelLayout {
  /** Normalised (non-negative) channel axis, or null for one parameter per tensor. */
  axis: number | null;
  /** Shape that broadcasts a parameter against the quantized tensor. */
  broadcastShape: number[];
  /** Number of parameters (1 per tensor, C per channel). */
  channels: number;
}

/**
 * Layout for a tensor of shape `shape`, per channel along `channelAxis` (negative counts from the end) or per tensor.
 * @throws {@link QuantizerInputError} when the tensor has no such axis
 */
export function channelLayout(shape: readonly number[], channelAxis: number | null): ChannelLayout {
  if (channelAxis === null) return { axis: null, broadcastShape: [], channels: 1 };
  const rank = shape.length;
  const axis = channelAxis < 0 ? rank + channelAxis : channelAxis;
  if (rank === 0 || axis < 0 || axis >= rank) {
    throw new QuantizerInputError(
      `perChannel quantizer needs a tensor with axis ${channelAxis}; got shape [${shape.join(', ')}].`,
      { field: 'channelAxis', value: channelAxis, shape: [...shape] },
    );
  }
  const broadcastShape = shape.map((d, i) => (i === axis ? d : 1));
  return { axis, broadcastShape, channels: shape[axis]! };
}

/** A parameter of shape `[]` or `[C]` reshaped to broadcast against the quantized tensor. */
export function broadcastParam(param: tf.Tensor, layout: ChannelLayout): tf.Tensor {
  if (layout.axis === null) return param.rank === 0 ? param : tf.reshape(param, []);
  return tf.reshape(param, layout.broadcastShape);
}

/** Sums a per-element gradient back to a parameter's shape (`[]` or `[C]`). */
export function reduceToParam(grad: tf.Tensor, layout: ChannelLayout): tf.Tensor {
  if (layout.axis === null) return tf.sum(grad);
  const axes = grad.shape.map((_, i) => i).filter((i) => i !== layout.axis);
  return axes.length ? tf.sum(grad, axes) : grad;
}

/**
 * Splits a flat row-major array into per-channel slices (copies). Used on the CPU for the one-off
 * data-driven initialisation.
 */
export function splitChannels(data: Float32Array, shape: readonly number[], layout: ChannelLayout): Float32Array[] {
  if (layout.axis === null) return [data];
  const inner = shape.slice(layout.axis + 1).reduce((a, b) => a * b, 1);
  const C = layout.channels;
  const out = Array.from({ length: C }, () => new Float32Array(data.length / C));
  const fill = new Array<number>(C).fill(0);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % C;
    out[c]![fill[c]!++] = data[i]!;
  }
  return out;
}
