import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CONV_QUANTIZE_KERNEL, INT_CONV_KERNEL, INT_DEPTHWISE_KERNEL, packConvBlocks, packDepthwiseCodes, packWeightPlanes, padConvBias, UNSIGNED_QUANTIZE_KERNEL, type ConvQuantizeAttrs, type IntConvAttrs, type IntDepthwiseAttrs, type UnsignedQuantizeAttrs } from '@srq/quantizers';
import { applyActivation } from './activations';
import { rebuildModel } from './model-graph';
import type { PackedWeightInfo } from './packed-format';
import { QActivation } from './q-activation';
import { QConv2D } from './q-conv2d';
import { QDense } from './q-dense';
import { QDepthwiseConv2D } from './q-depthwise-conv2d';
import type { LayerArgs } from './quant-slot';

/** The integer codes of a packed kernel, as `unpackCodes` returns them, with their manifest entry. */
export interface PackedKernel {
  codes: Int16Array;
  info: PackedWeightInfo;
}

/** What an {@link IntConv2D} computes: the kernel's attributes that do not depend on the input's size. */
export interface IntConv2DArgs extends LayerArgs, Pick<IntConvAttrs, 'channels' | 'filters' | 'weightBits' | 'minCode' | 'activationBits' | 'inputScale' | 'inputClip' | 'inputPool'> {
  /** `'conv2d'` (NHWC) or `'dense'` (over the last axis: a 1×1 convolution of one pixel). */
  kind: 'conv2d' | 'dense';
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  /** A dense layer fused with the max-pool and Flatten before it: a convolution over all the pooled pixels, output `[n, filters]`. */
  flatten: boolean;
  /** Applied after the bias (`'linear'` when a QActivation follows). */
  activation: string;
  planes: Int32Array;
  /** α_w[c]·α_a per output channel. */
  scale: Float32Array;
  bias: Float32Array;
  /** The ReLU and unsigned activation quantizer that follow, fused into the kernel (null: float output). */
  output: UnsignedQuantizeAttrs | null;
}

/** A convolution's output size and the zero rows / columns before its input (tfjs' `'same'` rule), for an input of h×w pixels. */
function convGeometry(h: number, w: number, c: { kernelSize: [number, number]; strides: [number, number]; padding: 'valid' | 'same' }) {
  const [[kh, kw], [sh, sw]] = [c.kernelSize, c.strides];
  const same = c.padding === 'same';
  const outH = same ? Math.ceil(h / sh) : Math.floor((h - kh) / sh) + 1;
  const outW = same ? Math.ceil(w / sw) : Math.floor((w - kw) / sw) + 1;
  const padTop = same ? Math.floor(Math.max((outH - 1) * sh + kh - h, 0) / 2) : 0;
  const padLeft = same ? Math.floor(Math.max((outW - 1) * sw + kw - w, 0) / 2) : 0;
  return { kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padTop, padLeft, outH, outW };
}

/**
 * A layer of {@link integerModel}'s models: inference only — its weights are constants, and it
 * cannot be saved (save or export the trained model instead).
 */
abstract class InferenceLayer extends tfl.layers.Layer {
  constructor(args: LayerArgs) {
    super({ ...args, trainable: false });
  }

  /** A constant weight holding `values` (int32 or float32, 1-D). */
  protected holdConstant(name: string, values: Int32Array | Float32Array): tfl.LayerVariable {
    const dtype = values instanceof Int32Array ? 'int32' : 'float32';
    const v = this.addWeight(name, [values.length], dtype, tfl.initializers.zeros(), undefined, false);
    tf.tidy(() => void v.write(tf.tensor1d(values, dtype)));
    return v;
  }

  override getConfig(): tf.serialization.ConfigDict {
    throw new Error(`${this.name} runs a packed model's inference and cannot be saved; save or export the trained model instead.`);
  }
}

/** The kernel attributes for an input of h×w pixels, from `sizes` or made once by `make`. */
function attrsFor<T>(sizes: Map<string, T>, h: number, w: number, make: () => T): T {
  const key = `${h}x${w}`;
  let attrs = sizes.get(key);
  if (!attrs) sizes.set(key, (attrs = make()));
  return attrs;
}

/**
 * A quantized convolution or dense layer of a packed model, run on integers (specification §10):
 * its weights held as bit planes of their codes (`weightBits` bits per weight, not float32), its
 * input quantized to the upstream activation quantizer's codes, exact integer dot products in the
 * `INT_CONV_KERNEL` kernel (WebAssembly SIMD on wasm, JavaScript on cpu), then one scale multiply
 * per output channel and the bias. Built by {@link integerModel}; inference only (not trainable,
 * not serialisable: export the trained model instead).
 */
export class IntConv2D extends InferenceLayer {
  static className = 'SrqIntConv2D';
  private readonly args: IntConv2DArgs;
  private readonly sizes = new Map<string, IntConvAttrs>();
  private planes: tfl.LayerVariable | null = null;
  private scaleVar: tfl.LayerVariable | null = null;
  private biasVar: tfl.LayerVariable | null = null;

  constructor(args: IntConv2DArgs) {
    super(args);
    this.args = args;
  }

  override build(): void {
    const a = this.args;
    this.planes = this.holdConstant('planes', a.planes);
    this.scaleVar = this.holdConstant('scale', a.scale);
    this.biasVar = this.holdConstant('bias', a.bias);
    this.built = true;
  }

  /** Attributes of the kernel for an input of h×w pixels (one object per size, made once: they are read on every call). */
  private attrs(h: number, w: number): IntConvAttrs {
    const a = this.args;
    return attrsFor(this.sizes, h, w, () => ({
      ...convGeometry(h, w, a), channels: a.channels, filters: a.filters,
      weightBits: a.weightBits, minCode: a.minCode, activationBits: a.activationBits, inputScale: a.inputScale, inputClip: a.inputClip, inputPool: a.inputPool,
      outputScale: a.output?.alpha ?? 0, outputClip: a.output?.clip ?? Infinity, outputMax: a.output?.maxCode ?? 0,
    }));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
      const a = this.args;
      // a dense layer: rows of K channels, [n, K] (inputs of higher rank flattened to rows and back)
      const input = a.kind === 'dense' && x.rank !== 2 ? tf.reshape(x, [-1, a.channels]) : x;
      const [h, w] = a.kind === 'dense' ? [1, 1] : [Math.floor(x.shape[1]! / a.inputPool), Math.floor(x.shape[2]! / a.inputPool)];
      const y = tf.engine().runKernel(INT_CONV_KERNEL, { x: input, planes: this.planes!.read(), scale: this.scaleVar!.read(), bias: this.biasVar!.read() }, this.attrs(h, w) as unknown as tf.NamedAttrMap) as tf.Tensor;
      const shaped = a.flatten ? tf.reshape(y, [-1, a.filters]) : input === x ? y : tf.reshape(y, [...x.shape.slice(0, -1), a.filters]);
      return a.activation === 'linear' ? shaped : applyActivation(a.activation, shaped);
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    if (this.args.kind === 'dense') return [...shape.slice(0, -1), this.args.filters];
    if (this.args.flatten) return [shape[0]!, this.args.filters];
    const pool = this.args.inputPool;
    const a = this.attrs(Math.floor((shape[1] as number) / pool), Math.floor((shape[2] as number) / pool));
    return [shape[0]!, a.outH, a.outW, this.args.filters];
  }
}

/** What a {@link ConvQuantize} computes. */
export interface ConvQuantizeArgs extends LayerArgs {
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  channels: number;
  filters: number;
  /** The float kernel (on its grid), in blocks of 8 filters (`packConvBlocks`). */
  kernelBlocks: Float32Array;
  /** Padded to the blocks (`padConvBias`). */
  bias: Float32Array;
  /** The 2×2 max-pool that follows (2), or none (1). */
  pool: 1 | 2;
  /** The ReLU and unsigned activation quantizer that follow. */
  output: UnsignedQuantizeAttrs;
}

/**
 * A packed model's convolution that reads float images (the first layer: its input is not on a
 * grid, so it cannot run on integers), with the ReLU, activation quantizer and 2×2 max-pool that
 * follow it fused (`CONV_QUANTIZE_KERNEL`): it writes only the pooled, quantized values, a quarter
 * of the convolution's output. Built by {@link integerModel}; inference only.
 */
export class ConvQuantize extends InferenceLayer {
  static className = 'SrqConvQuantize';
  private readonly args: ConvQuantizeArgs;
  private readonly sizes = new Map<string, ConvQuantizeAttrs>();
  private weightsVar: tfl.LayerVariable | null = null;
  private biasVar: tfl.LayerVariable | null = null;

  constructor(args: ConvQuantizeArgs) {
    super(args);
    this.args = args;
  }

  override build(): void {
    this.weightsVar = this.holdConstant('kernel_blocks', this.args.kernelBlocks);
    this.biasVar = this.holdConstant('bias', this.args.bias);
    this.built = true;
  }

  private attrs(h: number, w: number): ConvQuantizeAttrs {
    const a = this.args;
    return attrsFor(this.sizes, h, w, () => ({ ...convGeometry(h, w, a), channels: a.channels, filters: a.filters, pool: a.pool, ...a.output }));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    return tf.engine().runKernel(CONV_QUANTIZE_KERNEL, { x, weights: this.weightsVar!.read(), bias: this.biasVar!.read() }, this.attrs(x.shape[1]!, x.shape[2]!) as unknown as tf.NamedAttrMap) as tf.Tensor;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const a = this.attrs(shape[1] as number, shape[2] as number);
    return [shape[0]!, Math.floor(a.outH / a.pool), Math.floor(a.outW / a.pool), this.args.filters];
  }
}

/** What an {@link IntDepthwiseConv2D} computes (depth multiplier 1). */
export interface IntDepthwiseConv2DArgs extends LayerArgs, Pick<IntDepthwiseAttrs, 'channels' | 'activationBits' | 'inputScale' | 'inputClip'> {
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  /** The codes as int16 (`packDepthwiseCodes`). */
  codes: Int32Array;
  /** α_w[c]·α_a per channel. */
  scale: Float32Array;
  bias: Float32Array;
  /** The ReLU and unsigned activation quantizer that follow, fused into the kernel (null: float output). */
  output: UnsignedQuantizeAttrs | null;
}

/**
 * A quantized depthwise convolution (depth multiplier 1) of a packed model, run on integers
 * (`INT_DEPTHWISE_KERNEL`, specification §10): its weights held as 16-bit codes, its input
 * quantized to the upstream activation quantizer's codes, exact integer sums per channel, one
 * scale multiply and the bias, the next ReLU and quantizer fused. Built by {@link integerModel}.
 */
export class IntDepthwiseConv2D extends InferenceLayer {
  static className = 'SrqIntDepthwiseConv2D';
  private readonly args: IntDepthwiseConv2DArgs;
  private readonly sizes = new Map<string, IntDepthwiseAttrs>();
  private weightsVar: tfl.LayerVariable | null = null;
  private scaleVar: tfl.LayerVariable | null = null;
  private biasVar: tfl.LayerVariable | null = null;

  constructor(args: IntDepthwiseConv2DArgs) {
    super(args);
    this.args = args;
  }

  override build(): void {
    this.weightsVar = this.holdConstant('codes', this.args.codes);
    this.scaleVar = this.holdConstant('scale', this.args.scale);
    this.biasVar = this.holdConstant('bias', this.args.bias);
    this.built = true;
  }

  private attrs(h: number, w: number): IntDepthwiseAttrs {
    const a = this.args;
    return attrsFor(this.sizes, h, w, () => ({
      ...convGeometry(h, w, a), channels: a.channels, filters: a.channels, activationBits: a.activationBits, inputScale: a.inputScale, inputClip: a.inputClip,
      outputScale: a.output?.alpha ?? 0, outputClip: a.output?.clip ?? Infinity, outputMax: a.output?.maxCode ?? 0,
    }));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    return tf.engine().runKernel(INT_DEPTHWISE_KERNEL, { x, weights: this.weightsVar!.read(), scale: this.scaleVar!.read(), bias: this.biasVar!.read() }, this.attrs(x.shape[1]!, x.shape[2]!) as unknown as tf.NamedAttrMap) as tf.Tensor;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const a = this.attrs(shape[1] as number, shape[2] as number);
    return [shape[0]!, a.outH, a.outW, this.args.channels];
  }
}

/**
 * A ReLU and an unsigned activation quantizer at inference, in one kernel
 * (`UNSIGNED_QUANTIZE_KERNEL`): the same f32 arithmetic as the QActivation it replaces in
 * {@link integerModel}. Inference only.
 */
export class IntActivation extends InferenceLayer {
  static className = 'SrqIntActivation';
  constructor(private readonly quant: UnsignedQuantizeAttrs & LayerArgs) {
    super({ name: quant.name });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    const { alpha, clip, maxCode } = this.quant;
    return tf.engine().runKernel(UNSIGNED_QUANTIZE_KERNEL, { x }, { alpha, clip, maxCode }) as tf.Tensor;
  }
}

/** Layers between an activation quantizer and a weight layer that keep the values on its grid. */
const GRID_PRESERVING = new Set(['MaxPooling2D', 'MaxPooling1D', 'GlobalMaxPooling2D', 'Flatten', 'Reshape', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'ZeroPadding2D']);

/** The grid of a QActivation's quantizer when it is unsigned, per tensor, of at most 8 bits and without learned bits; else null. */
function unsignedGrid(layer: tfl.layers.Layer): { bits: number; alpha: number; maxCode: number } | null {
  if (!(layer instanceof QActivation) || !layer.slot) return null;
  const { quantizer, config } = layer.slot;
  if (quantizer.grid.minCode !== 0 || config.bitGates || quantizer.config.perChannel || quantizer.config.bits > 8) return null;
  return { bits: quantizer.config.bits, alpha: tf.tidy(() => quantizer.alpha().dataSync()[0]!), maxCode: quantizer.grid.maxCode };
}

/** A QActivation that is a ReLU (any `maxValue`, or ReLU6) then an {@link unsignedGrid}, as kernel attributes; else null. */
function unsignedQuant(layer: tfl.layers.Layer): UnsignedQuantizeAttrs | null {
  const grid = unsignedGrid(layer);
  const q = layer as QActivation;
  const clip = !grid ? null : q.activation === 'relu6' ? 6 : q.activation === 'relu' ? (q.maxValue ?? Infinity) : null;
  return grid && clip !== null ? { alpha: grid.alpha, clip, maxCode: grid.maxCode } : null;
}

/** The grid of the values a layer reads: an {@link unsignedGrid} upstream through grid-preserving layers, or null. */
function inputGrid(layer: tfl.layers.Layer): { bits: number; alpha: number } | null {
  let up: tfl.layers.Layer = layer;
  do {
    if (up.inboundNodes.length !== 1 || up.inboundNodes[0]!.inboundLayers.length !== 1) return null;
    up = up.inboundNodes[0]!.inboundLayers[0]!;
  } while (GRID_PRESERVING.has(up.getClassName()));
  return unsignedGrid(up);
}

/** The single layer `layer` reads, or null. */
function inputLayer(layer: tfl.layers.Layer): tfl.layers.Layer | null {
  return layer.inboundNodes.length === 1 && layer.inboundNodes[0]!.inboundLayers.length === 1 ? layer.inboundNodes[0]!.inboundLayers[0]! : null;
}

/** The window of a max-pool that a kernel can fuse: square, stride = window, no padding, NHWC; else null. */
function fusablePool(layer: tfl.layers.Layer | null): number | null {
  if (layer?.getClassName() !== 'MaxPooling2D') return null;
  const c = layer.getConfig() as { poolSize: [number, number]; strides: [number, number]; padding: string; dataFormat: string };
  const [p, q] = c.poolSize;
  return p === q && c.strides[0] === p && c.strides[1] === p && c.padding === 'valid' && c.dataFormat === 'channelsLast' ? p : null;
}

/**
 * What a weight layer can fuse before it: its input's ReLU + unsigned quantizer, with the max-pool
 * (and, for a dense layer, the Flatten) between them — each read only by the next; else null.
 */
function fusedInput(model: tfl.LayersModel, layer: tfl.layers.Layer) {
  let up = inputLayer(layer);
  const flatten = layer instanceof QDense && up?.getClassName() === 'Flatten' ? up : null;
  if (flatten) up = inputLayer(flatten);
  // a dense layer reads a pool's output only through the Flatten (it computes over the last axis)
  const pool = fusablePool(up) && (flatten || !(layer instanceof QDense)) ? up : null;
  if (pool) up = inputLayer(pool);
  const quant = up && unsignedQuant(up);
  if (!up || !quant) return null;
  const chain = [up, pool, flatten, layer].filter((l): l is tfl.layers.Layer => l !== null);
  if (chain.slice(0, -1).some((l, k) => onlyReader(model, l) !== chain[k + 1])) return null;
  // the pooled input's pixels (a Flatten fused with its pool: the dense layer becomes a convolution over them)
  const pooled = pool && (pool.outputShape as number[]);
  return { activation: up, quant, bits: unsignedGrid(up)!.bits, pool, size: fusablePool(pool) ?? 1, flatten: pool ? flatten : null, pooled };
}

/** Input channels up to which a float convolution runs as a {@link ConvQuantize} (images: gray, RGB, RGBA); wider inputs stay on the backend's own convolution. */
const CONV_QUANTIZE_MAX_CHANNELS = 4;

/** What a float convolution can fuse after it: the ReLU + unsigned quantizer that alone reads it, and a 2×2 max-pool that alone reads those; else null. */
function fusedOutput(model: tfl.LayersModel, layer: tfl.layers.Layer) {
  const next = onlyReader(model, layer);
  const quant = next && unsignedQuant(next);
  if (!next || !quant) return null;
  const after = onlyReader(model, next);
  return { activation: next, quant, pool: fusablePool(after) === 2 ? after : null };
}

/** The only layer that reads `layer`'s output in `model`, or null. */
function onlyReader(model: tfl.LayersModel, layer: tfl.layers.Layer): tfl.layers.Layer | null {
  const readers = model.layers.filter((l) => l.inboundNodes.some((n) => n.inboundLayers.includes(layer)));
  return readers.length === 1 && !model.outputs.some((t) => t.sourceLayer === layer) ? readers[0]! : null;
}

/**
 * What a packed depthwise convolution (depth multiplier 1, no unfolded BN) becomes: an
 * {@link IntDepthwiseConv2D} when its input is on an unsigned grid (the ReLU + quantizer right
 * before it fused into its input pass, the ReLU + quantizer right after into its epilogue: the
 * `claimed` layers); else a stock DepthwiseConv2D holding its quantized weights (`copy` sets them
 * once the model is rebuilt). Null (it stays as it is) with another depth multiplier, an
 * activation inside the layer or a BN not folded.
 */
function depthwiseReplacement(model: tfl.LayersModel, layer: QDepthwiseConv2D, kernels: Map<string, PackedKernel>, inConvQuantize: Set<tfl.layers.Layer>) {
  if (layer.inboundNodes.length !== 1 || layer.batchNorm || layer.depthMultiplier !== 1 || layer.activation !== 'linear') return null;
  const kernelVar = layer.weights.find((w) => w.originalName === `${layer.name}/kernel`);
  const packed = kernelVar && kernels.get(kernelVar.originalName);
  if (!kernelVar || !packed || (packed.info.channelAxis !== null && packed.info.channelAxis !== 2)) return null;
  const biasVar = layer.weights.find((w) => w.originalName === `${layer.name}/bias`);
  const [kh, kw, channels] = kernelVar.shape as [number, number, number];
  const before = fusedInput(model, layer);
  const fused = before && before.size === 1 && !inConvQuantize.has(before.activation) ? before : null;
  const grid = fused ? { bits: fused.bits, alpha: fused.quant.alpha } : inputGrid(layer);
  if (grid) {
    const next = onlyReader(model, layer);
    const output = next ? unsignedQuant(next) : null;
    const { scale } = packed.info;
    const intLayer = new IntDepthwiseConv2D({
      name: layer.name, kernelSize: [kh, kw], strides: layer.strides, padding: layer.padding, channels, activationBits: grid.bits, inputScale: grid.alpha,
      inputClip: fused?.quant.clip ?? Infinity, codes: packDepthwiseCodes(packed.codes, { kernelH: kh, kernelW: kw, channels }),
      scale: Float32Array.from({ length: channels }, (_, c) => Math.fround(scale[scale.length === 1 ? 0 : c]!) * Math.fround(grid.alpha)),
      bias: biasVar ? (biasVar.read().dataSync() as Float32Array).slice() : new Float32Array(channels), output,
    });
    // the ReLU + quantizers fused in
    return { layer: intLayer, claimed: [fused?.activation, output ? next : null].filter((l): l is tfl.layers.Layer => l != null) };
  }
  const stock = tfl.layers.depthwiseConv2d({ name: layer.name, kernelSize: [kh, kw], strides: layer.strides, padding: layer.padding, useBias: layer.useBias });
  const weights = [kernelVar.read(), ...(biasVar ? [biasVar.read()] : [])].map((t) => t.clone());
  return { layer: stock, claimed: [], copy: () => (stock.setWeights(weights), tf.dispose(weights)) };
}

/** Whether the active backend has the integer kernel (`useBackend` of @srq/backends registers it). */
export const integerKernelAvailable = (): boolean => tf.getKernel(INT_CONV_KERNEL, tf.getBackend()) !== undefined;

/**
 * The integer-inference version of a packed model loaded with float weights on the grid: every
 * QConv2D and QDense whose kernel is packed and whose input comes from an unsigned activation
 * quantizer becomes an {@link IntConv2D} holding only its codes' bit planes, with the ReLU and
 * quantizer that follow it fused in, and the ReLU + quantizer before it (with a max-pool, and a
 * dense layer's Flatten, between them) fused into its input pass; a convolution of a float input
 * of at most 4 channels (the first layer, on images) that only a ReLU + unsigned quantizer (and a
 * 2×2 max-pool) read becomes a {@link ConvQuantize} running them in one kernel; a
 * QDepthwiseConv2D becomes an {@link IntDepthwiseConv2D} likewise (see `depthwiseReplacement`);
 * the other quantized layers with a linear activation become stock Conv2D / Dense layers with
 * their (already quantized) weights, so no weight quantizer runs per call; the other ReLU +
 * unsigned quantizers become an {@link IntActivation} (one kernel), moved after the max-pool that
 * reads them (the same values: max commutes with a monotone map).
 * The replaced layers' weights are disposed. Outputs equal the float graph's up to float rounding
 * of the sums (the integer sums are exact; the first layer's float sums may be added in another
 * order; every other step is the same f32 arithmetic).
 */
export function integerModel(model: tfl.LayersModel, kernels: Map<string, PackedKernel>): tfl.LayersModel {
  const replaced = new Map<tfl.layers.Layer, tfl.layers.Layer[]>();
  // the ReLU + quantizers (and max-pools) that a ConvQuantize runs: the layers after it read their outputs
  const inConvQuantize = new Set<tfl.layers.Layer>();
  const copies: Array<() => void> = [];
  for (const candidate of model.layers) {
    if (candidate instanceof QDepthwiseConv2D) {
      const depthwise = depthwiseReplacement(model, candidate, kernels, inConvQuantize);
      if (!depthwise) continue;
      for (const l of depthwise.claimed) replaced.set(l, []);
      replaced.set(candidate, [depthwise.layer]);
      if (depthwise.copy) copies.push(depthwise.copy);
      continue;
    }
    // exactly these classes: a QConv2DTranspose is a QConv2D subclass with another kernel layout
    if (!['QConv2D', 'QDense'].includes(candidate.getClassName())) continue;
    const layer = candidate as QConv2D | QDense;
    if (layer.inboundNodes.length !== 1 || layer.batchNorm) continue;
    const kernelVar = layer.weights.find((w) => w.originalName === `${layer.name}/kernel`);
    const packed = kernelVar && kernels.get(kernelVar.originalName);
    if (!packed) continue;
    const conv = layer instanceof QConv2D;
    const shape = kernelVar.shape as number[];
    const filters = shape[shape.length - 1]!;
    let [kh, kw, channels] = conv ? (shape as [number, number, number]) : [1, 1, shape[0]!];
    const outAxis = shape.length - 1;
    // the ReLU + quantizer (and max-pool, Flatten) before it, run in the kernel's input pass (unless
    // a ConvQuantize before it already runs them); else an input already on a grid
    const before = fusedInput(model, layer);
    const fused = before && !inConvQuantize.has(before.activation) ? before : null;
    const grid = fused ? { bits: fused.bits, alpha: fused.quant.alpha } : inputGrid(layer);
    const biasVar = layer.weights.find((w) => w.originalName === `${layer.name}/bias`);
    // a float input (the first layer's image): the convolution with the ReLU, quantizer and max-pool after it, in one kernel
    const after = !grid && conv && layer.activation === 'linear' && channels <= CONV_QUANTIZE_MAX_CHANNELS ? fusedOutput(model, layer) : null;
    if (after) {
      for (const l of [after.activation, after.pool]) {
        if (!l) continue;
        replaced.set(l, []);
        inConvQuantize.add(l);
      }
      const geometry = { kernelH: kh, kernelW: kw, channels, filters };
      const bias = biasVar ? (biasVar.read().dataSync() as Float32Array) : null;
      replaced.set(layer, [
        new ConvQuantize({
          name: layer.name, kernelSize: [kh, kw], strides: (layer as QConv2D).strides, padding: (layer as QConv2D).padding, channels, filters,
          kernelBlocks: packConvBlocks(kernelVar.read().dataSync(), geometry), bias: padConvBias(bias, filters), pool: after.pool ? 2 : 1, output: after.quant,
        }),
      ]);
    } else if (grid && (packed.info.channelAxis === null || packed.info.channelAxis === outAxis)) {
      for (const l of fused ? [fused.activation, fused.pool, fused.flatten] : []) if (l) replaced.set(l, []);
      // a dense layer after a fused pool and Flatten: a convolution over the pooled pixels (the flattened order is theirs)
      const overPixels = fused?.flatten != null;
      if (overPixels) [, kh, kw, channels] = fused!.pooled as [number, number, number, number];
      // a ReLU + quantizer right after it runs in the kernel's epilogue
      const next = layer.activation === 'linear' ? onlyReader(model, layer) : null;
      const output = next ? unsignedQuant(next) : null;
      if (next && output) replaced.set(next, []);
      const { bits, minCode, scale } = packed.info;
      const planes = packWeightPlanes(packed.codes, minCode, { kernelH: kh, kernelW: kw, channels, filters, weightBits: bits });
      const bias = biasVar ? (biasVar.read().dataSync() as Float32Array).slice() : new Float32Array(filters);
      const scales = Float32Array.from({ length: filters }, (_, f) => Math.fround(scale[scale.length === 1 ? 0 : f]!) * Math.fround(grid.alpha));
      replaced.set(layer, [
        new IntConv2D({
          name: layer.name, kind: conv || overPixels ? 'conv2d' : 'dense', kernelSize: [kh, kw], strides: conv ? layer.strides : [1, 1], padding: conv ? layer.padding : 'valid',
          channels, filters, weightBits: bits, minCode, activationBits: grid.bits, inputScale: grid.alpha, inputClip: fused?.quant.clip ?? Infinity,
          inputPool: fused?.size ?? 1, flatten: overPixels, activation: layer.activation, planes, scale: scales, bias, output,
        }),
      ]);
    } else if (layer.activation === 'linear') {
      const stock = conv
        ? tfl.layers.conv2d({ name: layer.name, filters, kernelSize: [kh, kw], strides: layer.strides, padding: layer.padding, useBias: layer.useBias })
        : tfl.layers.dense({ name: layer.name, units: filters, useBias: layer.useBias });
      const weights = [kernelVar.read(), ...(biasVar ? [biasVar.read()] : [])].map((t) => t.clone());
      copies.push(() => (stock.setWeights(weights), tf.dispose(weights)));
      replaced.set(layer, [stock]);
    }
  }
  // the other ReLU + unsigned quantizers: one kernel instead of five ops; before a max-pool that
  // follows them (a monotone function commutes with max), so that it quantizes 4× fewer values
  for (const layer of model.layers) {
    const quant = replaced.has(layer) ? null : unsignedQuant(layer);
    if (!quant) continue;
    const activation = new IntActivation({ ...quant, name: layer.name });
    const pool = onlyReader(model, layer);
    if (pool?.getClassName() === 'MaxPooling2D' && !replaced.has(pool)) {
      replaced.set(layer, []);
      replaced.set(pool, [pool, activation]);
    } else replaced.set(layer, [activation]);
  }
  const integer = rebuildModel(model, model.name, (layer) => replaced.get(layer) ?? [layer]);
  copies.forEach((copy) => copy());
  for (const layer of replaced.keys()) for (const w of layer.weights) w.dispose();
  return integer;
}
