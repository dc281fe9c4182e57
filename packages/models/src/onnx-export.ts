import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SrqError } from '@srq/quantizers';
import { AttributeType, DataType, IR_VERSION, ModelProto, OPSET } from './onnx-proto';
import { QActivation } from './q-activation';
import { QDepthwiseConv2D } from './q-depthwise-conv2d';
import { QWeightLayer } from './q-weight-layer';
import type { QuantSlot } from './quant-slot';

/** The model has layers (or settings) that {@link toOnnx} cannot write; `fields.layers` lists them. */
export class OnnxExportError extends SrqError {
  constructor(problems: string[]) {
    super('ONNX_UNSUPPORTED', `ONNX export cannot write ${problems.length === 1 ? 'this layer' : 'these layers'}: ${problems.join('; ')}.`, { layers: problems });
  }
}

/** Key of the model's metadata that maps each quantized tensor to its bits (JSON). */
export const ONNX_BITS_METADATA = 'srq.quantized_tensors';

/** What the metadata records for each quantized tensor: an int8 / uint8 container holds `bits`-bit codes. */
export interface OnnxQuantizedTensor {
  bits: number;
  signed: boolean;
  /** `'weight'` (an initializer of codes) or `'activation'` (a QuantizeLinear output). */
  kind: 'weight' | 'activation';
  /** The layer it comes from. */
  layer: string;
}

/** Channels last (tfjs) or first (ONNX's convolutions and pools); tensors of rank < 3 have no layout. */
type Layout = 'first' | 'last';

/** A tensor of the ONNX graph: its name, its shape in tfjs order (channels last), and its layout. */
interface Value {
  name: string;
  shape: (number | null)[];
  layout: Layout;
}

type Attribute = { name: string; type: number; i?: number; f?: number; ints?: number[]; floats?: number[]; s?: Uint8Array };
const int = (name: string, i: number): Attribute => ({ name, type: AttributeType.INT, i });
const ints = (name: string, v: number[]): Attribute => ({ name, type: AttributeType.INTS, ints: v });
const float = (name: string, f: number): Attribute => ({ name, type: AttributeType.FLOAT, f });
const string = (name: string, s: string): Attribute => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) });

type Typed = Float32Array | Int8Array | Uint8Array | BigInt64Array;
const TYPE_OF = (data: Typed): number =>
  data instanceof Float32Array ? DataType.FLOAT : data instanceof Int8Array ? DataType.INT8 : data instanceof Uint8Array ? DataType.UINT8 : DataType.INT64;

/** Nodes and initializers of the graph being written, with unique names. */
class GraphWriter {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  readonly quantized: Record<string, OnnxQuantizedTensor> = {};
  private readonly names = new Set<string>();
  private readonly converted = new Map<string, Value>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = clean;
    for (let k = 1; this.names.has(name); k++) name = `${clean}_${k}`;
    this.names.add(name);
    return name;
  }

  /** Adds a node; returns its (single) output's name. */
  node(op: string, inputs: string[], attributes: Attribute[], name: string): string {
    const output = this.unique(name);
    this.nodes.push({ opType: op, name: output, input: inputs, output: [output], attribute: attributes });
    return output;
  }

  /** Adds an initializer; returns its name. */
  constant(name: string, data: Typed, dims: number[], docString?: string): string {
    const unique = this.unique(name);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.initializers.push({ name: unique, dataType: TYPE_OF(data), dims, rawData: bytes, ...(docString ? { docString } : {}) });
    return unique;
  }

  int64s(name: string, values: number[]): string {
    return this.constant(name, BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  /** `v` with channels at axis 1 (tensors of rank ≥ 3), by a Transpose when it is channels last. */
  toFirst(v: Value): Value {
    if (v.layout === 'first' || v.shape.length < 3) return v;
    const r = v.shape.length;
    return this.transposed(v, [0, r - 1, ...Array.from({ length: r - 2 }, (_, k) => k + 1)], 'first');
  }

  /** `v` with channels last, as tfjs lays it out. */
  toLast(v: Value): Value {
    if (v.layout === 'last' || v.shape.length < 3) return v;
    const r = v.shape.length;
    return this.transposed(v, [0, ...Array.from({ length: r - 2 }, (_, k) => k + 2), 1], 'last');
  }

  private transposed(v: Value, perm: number[], layout: Layout): Value {
    const key = `${v.name}>${layout}`;
    let out = this.converted.get(key);
    if (!out) {
      out = { name: this.node('Transpose', [v.name], [ints('perm', perm)], `${v.name}_${layout === 'first' ? 'nchw' : 'nhwc'}`), shape: v.shape, layout };
      this.converted.set(key, out);
    }
    return out;
  }
}

/** `data` (row-major in `shape`) with its axes permuted: output axis k is input axis perm[k]. */
function permute<T extends Typed>(data: T, shape: number[], perm: number[]): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < data.length; o++) {
    let i = 0;
    for (let k = 0; k < perm.length; k++) i += index[k]! * inStrides[perm[k]!]!;
    out[o] = data[i]!;
    for (let k = perm.length - 1; k >= 0 && ++index[k]! === outShape[k]; k--) index[k] = 0;
  }
  return out;
}

/** Explicit pads (begins, then ends) of tfjs `'same'` padding — extra at the end — or zeros for `'valid'`. */
function padsOf(padding: string, input: (number | null)[], kernel: number[], strides: number[]): number[] {
  if (padding === 'valid') return new Array<number>(2 * kernel.length).fill(0);
  const begin: number[] = [];
  const end: number[] = [];
  kernel.forEach((k, d) => {
    const size = input[d];
    if (size == null) throw new OnnxExportError([`'same' padding needs a known spatial size (input ${JSON.stringify(input)})`]);
    const total = Math.max((Math.ceil(size / strides[d]!) - 1) * strides[d]! + k - size, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  });
  return [...begin, ...end];
}

/**
 * A weight layer's kernel as an ONNX initializer: with a quantizer, its integer codes (int8, or
 * uint8 for an unsigned grid) and scale, then DequantizeLinear (per output channel where the
 * quantizer is); else float32. `perm` orders the tfjs kernel's axes as ONNX wants them and `dims`
 * is the ONNX shape (a depthwise kernel's channel and multiplier axes merged into one).
 */
function weightOf(g: GraphWriter, layer: tfl.layers.Layer, kernel: tf.Tensor, slot: QuantSlot | null, perm: number[], dims: number[]): string {
  const name = `${layer.name}/kernel`;
  const shape = kernel.shape;
  if (!slot) return g.constant(name, permute(Float32Array.from(kernel.dataSync()), shape, perm), dims);
  const q = slot.storedCodes(kernel); // learned bits: the sub-grid's codes on its step
  if (q.bits > 8 || q.symmetricBinary) throw new OnnxExportError([`${layer.name}: a ${q.symmetricBinary ? 'symmetric binary' : `${q.bits}-bit`} weight grid has no int8 form`]);
  const codes = q.signed ? Int8Array.from(q.codes) : Uint8Array.from(q.codes);
  const bits = q.bits;
  const values = g.constant(`${name}_codes`, permute(codes, shape, perm), dims, `${bits}-bit ${q.signed ? 'signed' : 'unsigned'} codes in an ${q.signed ? 'int8' : 'uint8'} container`);
  g.quantized[values] = { bits, signed: q.signed, kind: 'weight', layer: layer.name };
  // the scale per ONNX output channel (axis 0), or per tensor
  let scale = q.scale;
  let axis: number | null = null;
  if (q.channelAxis !== null && q.scale.length > 1) {
    axis = perm.indexOf(q.channelAxis);
    if (layer instanceof QDepthwiseConv2D) {
      // output channel c·M + m of a depthwise kernel [kh, kw, C, M]
      const [, , c, m] = shape as [number, number, number, number];
      const perChannel = scale;
      scale = Float32Array.from({ length: c * m }, (_, o) => perChannel[q.channelAxis === 2 ? Math.floor(o / m) : o % m]!);
      axis = 0;
    }
  }
  const scaleName = g.constant(`${name}_scale`, scale, axis === null ? [] : [scale.length]);
  const zero = g.constant(`${name}_zero_point`, q.signed ? new Int8Array(scale.length) : new Uint8Array(scale.length), axis === null ? [] : [scale.length]);
  return g.node('DequantizeLinear', [values, scaleName, zero], axis === null ? [] : [int('axis', axis)], `${name}_dequantized`);
}

/** The kernel and bias a weight layer runs at inference (a batch normalisation folded in). */
function inferenceWeights(layer: tfl.layers.Layer): { kernel: tf.Tensor; bias: tf.Tensor | null } {
  if (layer instanceof QWeightLayer) return layer.effectiveWeights(false);
  const [kernel, bias] = layer.getWeights();
  return { kernel: kernel!, bias: (layer.getConfig().useBias as boolean) ? bias! : null };
}

/** An activation function as ONNX nodes (tfjs names, as `activationName` normalises them). */
function activation(g: GraphWriter, fn: string, v: Value, base: string, options: { maxValue?: number | null; alpha?: number | null } = {}): Value {
  const at = (op: string, inputs: string[], attrs: Attribute[] = [], suffix = fn) => g.node(op, inputs, attrs, `${base}_${suffix}`);
  const same = (name: string): Value => ({ ...v, name });
  const c = (value: number, name: string) => g.constant(`${base}_${name}`, Float32Array.of(value), []);
  switch (fn) {
    case 'linear':
      return v;
    case 'relu':
      return same(options.maxValue == null ? at('Relu', [v.name]) : at('Clip', [v.name, c(0, 'min'), c(options.maxValue, 'max')]));
    case 'relu6':
      return same(at('Clip', [v.name, c(0, 'min'), c(6, 'max')]));
    case 'sigmoid':
      return same(at('Sigmoid', [v.name]));
    case 'tanh':
      return same(at('Tanh', [v.name]));
    case 'softplus':
      return same(at('Softplus', [v.name]));
    case 'softsign':
      return same(at('Softsign', [v.name]));
    case 'selu':
      return same(at('Selu', [v.name]));
    case 'elu':
      return same(at('Elu', [v.name], [float('alpha', options.alpha ?? 1)]));
    case 'leaky_relu':
      return same(at('LeakyRelu', [v.name], [float('alpha', options.alpha ?? 0.3)]));
    case 'hard_sigmoid':
      return same(at('HardSigmoid', [v.name], [float('alpha', 0.2), float('beta', 0.5)]));
    case 'swish':
      return same(at('Mul', [v.name, at('Sigmoid', [v.name], [], 'sigmoid')]));
    case 'softmax': {
      const last = g.toLast(v);
      return { ...last, name: at('Softmax', [last.name], [int('axis', -1)]) };
    }
    default:
      throw new OnnxExportError([`${base}: activation ${fn}`]);
  }
}

/**
 * An activation quantizer as Clip (its grid's code range: the bit range, and a ReLU's clip where
 * there is one) → QuantizeLinear (the grid step as scale, zero point 0) → DequantizeLinear. With
 * learned bits (bit gates) the step is α·2^d for d dropped low bits.
 */
function quantizeActivation(g: GraphWriter, slot: QuantSlot, v: Value, layer: string): Value {
  const { bits, stepFactor, minCode: lo, maxCode: hi } = slot.storedGrid();
  if (bits > 8) throw new OnnxExportError([`${layer}: ${bits}-bit activations have no int8 form`]);
  const alpha = tf.tidy(() => slot.quantizer.alpha().dataSync() as Float32Array);
  if (alpha.length > 1) throw new OnnxExportError([`${layer}: a per-channel activation quantizer`]);
  const step = Math.fround(alpha[0]! * stepFactor);
  const signed = lo < 0;
  const c = (value: number, name: string) => g.constant(`${layer}/act_${name}`, Float32Array.of(value), []);
  const clipped = g.node('Clip', [v.name, c(Math.fround(step * lo), 'min'), c(Math.fround(step * hi), 'max')], [], `${layer}/act_clip`);
  const scale = c(step, 'scale');
  const zero = g.constant(`${layer}/act_zero_point`, signed ? new Int8Array(1) : new Uint8Array(1), []);
  const q = g.node('QuantizeLinear', [clipped, scale, zero], [], `${layer}/act_codes`);
  g.quantized[q] = { bits, signed, kind: 'activation', layer };
  return { ...v, name: g.node('DequantizeLinear', [q, scale, zero], [], `${layer}/act_quantized`) };
}

/** The weight layers: convolutions (2-D, depthwise as groups, 1-D, transposed), dense and embedding. */
function weightLayer(g: GraphWriter, layer: tfl.layers.Layer, x: Value): Value {
  const cls = layer.getClassName();
  const slot = layer instanceof QWeightLayer ? layer.slot : null;
  const config = layer.getConfig() as Record<string, unknown>;
  const { kernel, bias } = inferenceWeights(layer);
  const name = layer.name;
  const biasName = () => (bias ? [g.constant(`${name}/bias`, Float32Array.from(bias.dataSync()), [bias.size])] : []);
  const out = layer.outputShape as (number | null)[];
  let y: Value;
  if (cls === 'QEmbedding' || cls === 'Embedding') {
    const w = weightOf(g, layer, kernel, slot, [0, 1], kernel.shape);
    const ids = g.node('Cast', [g.toLast(x).name], [int('to', DataType.INT64)], `${name}_ids`);
    y = { name: g.node('Gather', [w, ids], [int('axis', 0)], name), shape: out, layout: 'last' };
  } else if (cls === 'QDense' || cls === 'Dense') {
    const w = weightOf(g, layer, kernel, slot, [0, 1], kernel.shape);
    const input = g.toLast(x);
    if (input.shape.length === 2) y = { name: g.node('Gemm', [input.name, w, ...biasName()], [], name), shape: out, layout: 'last' };
    else {
      const product = g.node('MatMul', [input.name, w], [], `${name}_matmul`);
      y = { name: bias ? g.node('Add', [product, ...biasName()], [], name) : product, shape: out, layout: 'last' };
    }
  } else {
    const input = g.toFirst(x);
    const spatial = x.shape.slice(1, -1);
    const list = (v: unknown, n: number) => (Array.isArray(v) ? (v as number[]) : new Array<number>(n).fill(v as number));
    const rank = spatial.length;
    const kernelSize = list(config.kernelSize, rank);
    const strides = list(config.strides, rank);
    const padding = config.padding as string;
    const dilation = config.dilationRate === undefined ? new Array<number>(rank).fill(1) : list(config.dilationRate, rank);
    if (dilation.some((d) => d !== 1)) throw new OnnxExportError([`${name}: dilation ${JSON.stringify(dilation)}`]);
    let w: string;
    let op = 'Conv';
    const attrs: Attribute[] = [ints('kernel_shape', kernelSize), ints('strides', strides)];
    if (cls === 'QDepthwiseConv2D' || cls === 'DepthwiseConv2D') {
      const [kh, kw, c, m] = kernel.shape as [number, number, number, number];
      w = weightOf(g, layer, kernel, slot, [2, 3, 0, 1], [c * m, 1, kh, kw]);
      attrs.push(int('group', c), ints('pads', padsOf(padding, spatial, kernelSize, strides)));
    } else if (cls === 'QConv2DTranspose' || cls === 'Conv2DTranspose') {
      // tfjs [kh, kw, out, in] → ONNX [in, out, kh, kw]; the output size of tfjs: in·stride ('same') or (in − 1)·stride + k
      const [kh, kw, o, i] = kernel.shape as [number, number, number, number];
      w = weightOf(g, layer, kernel, slot, [3, 2, 0, 1], [i, o, kh, kw]);
      op = 'ConvTranspose';
      const target = out.slice(1, -1) as number[];
      const totals = kernelSize.map((k, d) => (spatial[d]! - 1) * strides[d]! + k - target[d]!);
      attrs.push(ints('pads', [...totals.map((t) => Math.floor(Math.max(t, 0) / 2)), ...totals.map((t) => Math.max(t, 0) - Math.floor(Math.max(t, 0) / 2))]), ints('output_padding', totals.map((t) => Math.max(-t, 0))));
    } else if (cls === 'QConv1D' || cls === 'Conv1D' || cls === 'QConv2D' || cls === 'Conv2D') {
      const perm = rank === 1 ? [2, 1, 0] : [3, 2, 0, 1];
      w = weightOf(g, layer, kernel, slot, perm, perm.map((p) => kernel.shape[p]!));
      if (padding === 'causal') attrs.push(ints('pads', [(kernelSize[0]! - 1), 0]));
      else attrs.push(ints('pads', padsOf(padding, spatial, kernelSize, strides)));
    } else throw new OnnxExportError([`${name} (${cls})`]);
    y = { name: g.node(op, [input.name, w, ...biasName()], attrs, name), shape: out, layout: 'first' };
  }
  const fn = layer instanceof QWeightLayer ? layer.activation : ((config.activation as string | undefined) ?? 'linear');
  return activation(g, fn, y, name);
}

/** Pools, 1-D and 2-D, local and global. */
function pool(g: GraphWriter, layer: tfl.layers.Layer, x: Value): Value {
  const cls = layer.getClassName();
  const config = layer.getConfig() as Record<string, unknown>;
  const out = layer.outputShape as (number | null)[];
  const input = g.toFirst(x);
  if (cls.startsWith('Global')) {
    const op = cls.includes('Average') ? 'GlobalAveragePool' : 'GlobalMaxPool';
    const pooled = g.node(op, [input.name], [], config.keepDims ? layer.name : `${layer.name}_keepdims`);
    return config.keepDims ? { name: pooled, shape: out, layout: 'first' } : { name: g.node('Flatten', [pooled], [int('axis', 1)], layer.name), shape: out, layout: 'last' };
  }
  const spatial = x.shape.slice(1, -1);
  const list = (v: unknown) => (Array.isArray(v) ? (v as number[]) : new Array<number>(spatial.length).fill(v as number));
  const kernel = list(config.poolSize);
  const strides = list(config.strides ?? config.poolSize);
  const attrs = [ints('kernel_shape', kernel), ints('strides', strides), ints('pads', padsOf(config.padding as string, spatial, kernel, strides))];
  const average = cls.startsWith('Average');
  return { name: g.node(average ? 'AveragePool' : 'MaxPool', [input.name], average ? [...attrs, int('count_include_pad', 0)] : attrs, layer.name), shape: out, layout: 'first' };
}

/** Element-wise merges and Concatenate, on inputs brought to one layout. */
function merge(g: GraphWriter, layer: tfl.layers.Layer, xs: Value[]): Value {
  const cls = layer.getClassName();
  const out = layer.outputShape as (number | null)[];
  const layout = xs.some((v) => v.layout === 'first') ? 'first' : 'last';
  const ins = xs.map((v) => (layout === 'first' ? g.toFirst(v) : g.toLast(v)));
  if (cls === 'Concatenate') {
    const r = out.length;
    const a = ((layer.getConfig().axis as number) + r) % r;
    const axis = layout === 'first' && r >= 3 ? (a === r - 1 ? 1 : a + 1) : a;
    return { name: g.node('Concat', ins.map((v) => v.name), [int('axis', axis)], layer.name), shape: out, layout };
  }
  const ops: Record<string, string> = { Add: ins.length > 2 ? 'Sum' : 'Add', Subtract: 'Sub', Multiply: 'Mul', Average: 'Mean', Maximum: 'Max', Minimum: 'Min' };
  if (!ops[cls]) throw new OnnxExportError([`${layer.name} (${cls})`]);
  if (cls === 'Multiply' && ins.length > 2) throw new OnnxExportError([`${layer.name}: Multiply of ${ins.length} inputs`]);
  return { name: g.node(ops[cls]!, ins.map((v) => v.name), [], layer.name), shape: out, layout };
}

/** Layers that need no weights of their own beyond a batch normalisation's. */
function shapeLayer(g: GraphWriter, layer: tfl.layers.Layer, x: Value): Value {
  const cls = layer.getClassName();
  const config = layer.getConfig() as Record<string, unknown>;
  const out = layer.outputShape as (number | null)[];
  const name = layer.name;
  switch (cls) {
    case 'Dropout': case 'SpatialDropout1D': case 'SpatialDropout2D': case 'GaussianNoise': case 'GaussianDropout': case 'AlphaDropout':
      return x; // identity at inference
    case 'Flatten': {
      const last = g.toLast(x);
      return { name: g.node('Flatten', [last.name], [int('axis', 1)], name), shape: out, layout: 'last' };
    }
    case 'Reshape': {
      const last = g.toLast(x);
      const target = g.int64s(`${name}_shape`, [0, ...(config.targetShape as number[])]);
      return { name: g.node('Reshape', [last.name, target], [], name), shape: out, layout: 'last' };
    }
    case 'Permute': {
      const last = g.toLast(x);
      return { name: g.node('Transpose', [last.name], [ints('perm', [0, ...(config.dims as number[])])], name), shape: out, layout: 'last' };
    }
    case 'ZeroPadding2D': {
      const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]];
      const first = g.toFirst(x);
      return { name: g.node('Pad', [first.name, g.int64s(`${name}_pads`, [0, 0, top, left, 0, 0, bottom, right])], [string('mode', 'constant')], name), shape: out, layout: 'first' };
    }
    case 'Cropping2D': {
      const [[top, bottom], [left, right]] = config.cropping as [[number, number], [number, number]];
      const first = g.toFirst(x);
      const [h, w] = [x.shape[1]!, x.shape[2]!];
      const inputs = [first.name, g.int64s(`${name}_starts`, [top, left]), g.int64s(`${name}_ends`, [h - bottom, w - right]), g.int64s(`${name}_axes`, [2, 3])];
      return { name: g.node('Slice', inputs, [], name), shape: out, layout: 'first' };
    }
    case 'UpSampling2D': {
      const [sh, sw] = config.size as [number, number];
      const first = g.toFirst(x);
      const nearest = (config.interpolation ?? 'nearest') === 'nearest';
      const attrs = [string('mode', nearest ? 'nearest' : 'linear'), string('coordinate_transformation_mode', 'asymmetric'), ...(nearest ? [string('nearest_mode', 'floor')] : [])];
      return { name: g.node('Resize', [first.name, '', g.constant(`${name}_scales`, Float32Array.of(1, 1, sh, sw), [4])], attrs, name), shape: out, layout: 'first' };
    }
    case 'BatchNormalization': {
      const axis = config.axis as number;
      if (axis !== -1 && axis !== x.shape.length - 1) throw new OnnxExportError([`${name}: batch normalisation over axis ${axis}`]);
      const weights = new Map(layer.weights.map((w) => [w.originalName.slice(w.originalName.lastIndexOf('/') + 1), w.read()]));
      const channels = x.shape[x.shape.length - 1]!;
      const get = (key: string, fallback: number) => Float32Array.from(weights.get(key)?.dataSync() ?? new Float32Array(channels).fill(fallback));
      const params = (['gamma', 'beta', 'moving_mean', 'moving_variance'] as const).map((k, i) => g.constant(`${name}/${k}`, get(k, i === 0 || i === 3 ? 1 : 0), [channels]));
      const first = g.toFirst(x);
      return { name: g.node('BatchNormalization', [first.name, ...params], [float('epsilon', config.epsilon as number)], name), shape: out, layout: first.layout };
    }
    case 'Activation':
      return activation(g, config.activation as string, x, name);
    case 'ReLU':
      return activation(g, 'relu', x, name, { maxValue: (config.maxValue as number | null | undefined) ?? null });
    case 'LeakyReLU':
      return activation(g, 'leaky_relu', x, name, { alpha: config.alpha as number });
    case 'ELU':
      return activation(g, 'elu', x, name, { alpha: config.alpha as number });
    case 'Softmax': {
      const axis = config.axis as number;
      if (axis !== -1 && axis !== x.shape.length - 1) throw new OnnxExportError([`${name}: softmax over axis ${axis}`]);
      return activation(g, 'softmax', x, name);
    }
    default:
      throw new OnnxExportError([`${name} (${cls})`]);
  }
}

type Node = tfl.layers.Layer['inboundNodes'][number];

/**
 * The ONNX model (a `ModelProto`, serialised) of a tfjs model with our quantized layers, in the
 * QDQ form ONNX Runtime and other runtimes recognise (specification §11): every quantized kernel
 * is an initializer of its integer codes — int8 (uint8 for an unsigned grid) holding b-bit codes —
 * with its scale (per output channel where the quantizer is) and a zero point of 0, then
 * DequantizeLinear; every activation quantizer is Clip (the grid's code range) → QuantizeLinear →
 * DequantizeLinear with the grid step as scale. Batch normalisations folded into a layer are
 * written folded, as the packed export does. tfjs lays images out channels last and ONNX's
 * convolutions channels first: a Transpose converts where the layout changes (after the input,
 * before a Flatten), so the input and outputs keep tfjs's shapes. The metadata key
 * {@link ONNX_BITS_METADATA} maps each quantized tensor to its bits.
 *
 * Operators (opset 13): Conv (2-D, 1-D, depthwise as groups), ConvTranspose, Gemm / MatMul + Add,
 * Gather (embedding), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Relu, Clip, Sigmoid,
 * Tanh, Softmax and other activations, Add / Sub / Mul / Sum / Mean / Max / Min, Concat, Flatten,
 * Reshape, Transpose, Pad, Slice, Resize, BatchNormalization, QuantizeLinear, DequantizeLinear.
 *
 * @throws {@link OnnxExportError} listing every layer it cannot write
 */
export function toOnnx(model: tfl.LayersModel, options: { producerVersion?: string } = {}): Uint8Array {
  let bytes: Uint8Array | null = null;
  tf.tidy(() => void (bytes = writeGraph(model, options.producerVersion ?? '')));
  return bytes!;
}

function writeGraph(model: tfl.LayersModel, producerVersion: string): Uint8Array {
  const g = new GraphWriter();
  const problems: string[] = [];
  const inputs = model.inputs.map((t) => ({ name: g.unique(t.sourceLayer.name), shape: t.shape as (number | null)[], layout: 'last' as Layout }));
  const root = new Map<tfl.SymbolicTensor, Value>(model.inputs.map((t, k) => [t, inputs[k]!]));
  const resolve = (t: tfl.SymbolicTensor, scope: Map<tfl.SymbolicTensor, Value>): Value => {
    const known = scope.get(t);
    if (known) return known;
    const layer = t.sourceLayer;
    const node: Node = layer.inboundNodes[t.nodeIndex]!;
    const xs = node.inputTensors.map((i) => resolve(i, scope));
    let outs: Value[];
    if (layer instanceof tfl.LayersModel) {
      const inner = new Map(layer.inputs.map((i, k) => [i, xs[k]!]));
      outs = layer.outputs.map((o) => resolve(o, inner));
    } else {
      outs = [convert(layer, xs)];
    }
    node.outputTensors.forEach((o, k) => scope.set(o, outs[k]!));
    return outs[t.tensorIndex]!;
  };
  const convert = (layer: tfl.layers.Layer, xs: Value[]): Value => {
    const cls = layer.getClassName();
    try {
      if (layer instanceof QActivation) {
        const y = activation(g, layer.activation, xs[0]!, layer.name, { maxValue: layer.maxValue, alpha: layer.alpha });
        return layer.slot ? quantizeActivation(g, layer.slot, y, layer.name) : y;
      }
      if (layer instanceof QWeightLayer || ['Conv1D', 'Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'Dense', 'Embedding'].includes(cls)) return weightLayer(g, layer, xs[0]!);
      if (/Pooling[12]D$/.test(cls)) return pool(g, layer, xs[0]!);
      if (['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate'].includes(cls)) return merge(g, layer, xs);
      return shapeLayer(g, layer, xs[0]!);
    } catch (e) {
      if (!(e instanceof OnnxExportError)) throw e;
      problems.push(...(e.fields.layers as string[]));
      return { name: `${layer.name}_unsupported`, shape: layer.outputShape as (number | null)[], layout: 'last' };
    }
  };
  const outputs = model.outputs.map((t) => g.toLast(resolve(t, root)));
  if (problems.length) throw new OnnxExportError(problems);
  // the outputs: `output` (or `output_k` for several), through an Identity
  const named = outputs.map((v, k) => ({ ...v, name: g.node('Identity', [v.name], [], outputs.length === 1 ? 'output' : `output_${k}`) }));
  const info = (v: Value) => ({
    name: v.name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: v.shape.map((d, k) => (d == null ? { dimParam: k === 0 ? 'batch' : `d${k}` } : { dimValue: d })) } } },
  });
  const message = ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: '@srq/models',
    producerVersion,
    graph: { name: model.name, node: g.nodes, initializer: g.initializers, input: inputs.map(info), output: named.map(info) },
    metadataProps: [{ key: ONNX_BITS_METADATA, value: JSON.stringify(g.quantized) }],
  });
  return ModelProto.encode(message).finish();
}
