import * as tf from '@tensorflow/tfjs-core';
import { QuantizerInputError } from './errors';

/**
 * The integer representation of a quantized tensor: `value = scale[c]·code` exactly (zero point 0,
 * specification §1), with one scale per tensor or per channel along `channelAxis`. This is what
 * export packs at `bits` bits per code.
 */
export interface QuantizedCodes {
  /** Integer codes, row-major in `shape`; Int8Array when every code fits in 8 signed bits, else Int16Array. */
  codes: Int8Array | Int16Array;
  /** Shape of the quantized tensor. */
  shape: number[];
  /** Grid step α: length 1 (per tensor) or C (per channel). */
  scale: Float32Array;
  /** Zero point (0: the grids have no offset β). */
  zeroPoint: number;
  /** Bit-width of the grid the codes come from. */
  bits: number;
  /** Signed or unsigned grid. */
  signed: boolean;
  /** True for the symmetric binary grid {-1, +1}. */
  symmetricBinary: boolean;
  /** Channel axis of `scale` (non-negative), or null per tensor. */
  channelAxis: number | null;
}

/** Typed array wide enough for the codes of a grid. */
export function codeArray(codes: ArrayLike<number>, minCode: number, maxCode: number): Int8Array | Int16Array {
  return minCode >= -128 && maxCode <= 127 ? Int8Array.from(codes) : Int16Array.from(codes);
}

/**
 * Rebuilds the float tensor of a {@link QuantizedCodes}: `scale·code`, bit-identical to the
 * quantizer's inference output on the same backend.
 *
 * @param q - codes and scales from {@link Quantizer.codes}
 * @returns a float32 tensor of shape `q.shape`
 * @throws {@link QuantizerInputError} when sizes do not match the shape
 * @example
 * ```ts
 * const same = dequantize(quantizer.codes(w)); // equals quantizer.apply(w, { training: false })
 * ```
 */
export function dequantize(q: QuantizedCodes): tf.Tensor {
  const size = q.shape.reduce((a, b) => a * b, 1);
  if (q.codes.length !== size) {
    throw new QuantizerInputError(`QuantizedCodes has ${q.codes.length} codes for shape [${q.shape.join(', ')}] (${size} elements).`, { field: 'codes' });
  }
  const channels = q.channelAxis === null ? 1 : q.shape[q.channelAxis];
  if (q.scale.length !== channels) {
    throw new QuantizerInputError(`QuantizedCodes has ${q.scale.length} scales; expected ${channels}.`, { field: 'scale' });
  }
  return tf.tidy(() => {
    const codes = tf.tensor(Float32Array.from(q.codes), q.shape, 'float32');
    const scaleShape = q.channelAxis === null ? [] : q.shape.map((d, i) => (i === q.channelAxis ? d : 1));
    return tf.mul(tf.tensor(q.scale, scaleShape, 'float32'), codes);
  });
}
