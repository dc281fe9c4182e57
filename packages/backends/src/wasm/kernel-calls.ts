import * as tf from '@tensorflow/tfjs-core';

type TensorInfo = tf.TensorInfo;

/** The wasm backend's memory, for kernels that loop over it in JavaScript. */
export interface WasmHeap {
  /** A view of a tensor's values in the wasm heap: take it after the last allocation (a grown heap detaches older views). */
  typedArrayFromHeap(t: TensorInfo): tf.backend_util.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}
type Attrs = tf.NamedAttrMap;

/**
 * Runs other wasm kernels from inside a kernel: kernels compose backend functions on TensorInfos
 * (not tfjs ops, whose tensors the engine would track and free). Every intermediate is freed by
 * {@link KernelCalls.release}.
 */
export class KernelCalls {
  private readonly temps: TensorInfo[] = [];
  constructor(private readonly backend: tf.KernelBackend) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
    return this.keep(kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs }) as TensorInfo);
  }

  /** Takes an intermediate made by a kernel called directly, to be freed by {@link release}. */
  keep(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    return paddings.every(([a, b]) => a === 0 && b === 0) ? x : this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return size.every((s, i) => s === x.shape[i] && begin[i] === 0) ? x : this.run('Slice', { x }, { begin, size });
  }

  /** NHWC conv2d, valid padding (pad first), given strides and dilations. */
  conv2d(x: TensorInfo, filter: TensorInfo, strides: number | [number, number], dilations: number | [number, number]): TensorInfo {
    return this.run('Conv2D', { x, filter }, { strides, pad: 'valid', dataFormat: 'NHWC', dilations, dimRoundingMode: undefined as unknown as string });
  }

  /** Frees every intermediate except `keep` (the kernel's result). */
  release(keep: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t.dataId !== keep.dataId) this.backend.disposeData(t.dataId);
    return keep;
  }
}

/** The attributes of tfjs' Conv2DBackpropFilter / Conv2DBackpropInput kernels. */
export interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Conv2DBackpropFilter: the filter's shape. */
  filterShape?: [number, number, number, number];
  /** Conv2DBackpropInput: the input's shape. */
  inputShape?: [number, number, number, number];
}
