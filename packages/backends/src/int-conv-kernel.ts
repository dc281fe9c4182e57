import type * as tf from '@tensorflow/tfjs-core';
import { CONV_QUANTIZE_KERNEL, convQuantize, INT_CONV_KERNEL, INT_DEPTHWISE_KERNEL, intConv2d, intDepthwiseConv2d, type IntDepthwiseAttrs, quantizeUnsigned, UNSIGNED_QUANTIZE_KERNEL, type ConvQuantizeAttrs, type IntConvAttrs, type UnsignedQuantizeAttrs } from '@srq/quantizers';
import { INT_CONV_WASM } from './generated/int-conv-wasm';
import { EmbeddedModule, heapPlacer } from './embedded-wasm';
import { cpuMemory, wasmMemory, type KernelMemory } from './kernel-memory';

/** The exports of assembly/int-conv.ts. */
interface IntConvExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchBytes(h: number, w: number, channels: number, activationBits: number, filters: number, positions: number): number;
  intConv2d(
    n: number, inH: number, inW: number, channels: number, x: number, planes: number, scale: number, bias: number, out: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number,
    filters: number, weightBits: number, minCode: number, activationBits: number, inputScale: number, inputClip: number, pool: number,
    outputScale: number, outputClip: number, outputMax: number, scratch: number,
  ): void;
  quantizeUnsigned(x: number, n: number, alpha: number, clip: number, maxCode: number, out: number): void;
  depthwiseScratchBytes(h: number, w: number, channels: number): number;
  intDepthwiseConv2d(
    n: number, h: number, w: number, channels: number, x: number, weights: number, scale: number, bias: number, out: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number,
    activationBits: number, inputScale: number, inputClip: number, outputScale: number, outputClip: number, outputMax: number, scratch: number,
  ): void;
  convQuantizeScratchBytes(outH: number, outW: number, strideH: number, strideW: number, kernelH: number, kernelW: number, channels: number, filters: number): number;
  convQuantize(
    n: number, inH: number, inW: number, channels: number, x: number, weights: number, bias: number, out: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number,
    filters: number, pool: number, alpha: number, clip: number, maxCode: number, scratch: number,
  ): void;
}

const wasm = new EmbeddedModule<IntConvExports>(INT_CONV_WASM, 'int-conv');

/**
 * Compiles the WebAssembly SIMD build of the integer convolution (assembly/int-conv.ts), once.
 * Resolves false where WebAssembly SIMD is unavailable; {@link runIntConv} then computes with the
 * JavaScript `intConv2d` of @srq/quantizers.
 */
export function loadIntConvWasm(): Promise<boolean> {
  return wasm.load();
}

/** Bytes of the integer kernel's WebAssembly memory (its scratch: it grows to the largest layer and call). */
export function intConvMemoryBytes(): number {
  return wasm.exports?.memory.buffer.byteLength ?? 0;
}

/**
 * Places `scratchBytes` of scratch, a copy of each of `inputs` and an output of `outFloats` float32
 * above the module's heap base (growing its memory if needed); returns their byte offsets.
 */
function stage<T extends Array<Float32Array | Int32Array>>(m: IntConvExports, scratchBytes: number, inputs: [...T], outFloats: number): { scratch: number; at: { [K in keyof T]: number }; out: number } {
  const { place, fit } = heapPlacer(m.memory, m.heapBase());
  const scratch = place(scratchBytes);
  const at = inputs.map((a) => place(4 * a.length)) as { [K in keyof T]: number };
  const out = place(4 * outFloats);
  fit();
  inputs.forEach((a, i) => (a instanceof Int32Array ? new Int32Array(m.memory.buffer, at[i]!, a.length).set(a) : new Float32Array(m.memory.buffer, at[i]!, a.length).set(a)));
  return { scratch, at, out };
}

/**
 * The integer convolution (contract of `intConv2d` in @srq/quantizers) on the WebAssembly SIMD
 * build when loaded, else the JavaScript reference. Returns a view of the module's memory when on
 * wasm: copy it before the next call.
 */
export function runIntConv(x: Float32Array, shape: readonly number[], planes: Int32Array, scale: Float32Array, bias: Float32Array, a: IntConvAttrs, useWasm = true): Float32Array {
  const m = wasm.exports;
  if (!m || !useWasm) return intConv2d(x, shape, planes, scale, bias, a);
  const [n, inH, inW, channels] = shape as [number, number, number, number];
  const outSize = n * a.outH * a.outW * a.filters;
  const [h, w] = [Math.floor(inH / a.inputPool), Math.floor(inW / a.inputPool)];
  const scratchBytes = m.scratchBytes(h, w, channels, a.activationBits, a.filters, a.kernelH * a.kernelW);
  const { scratch, at: [px, pPlanes, pScale, pBias], out: pOut } = stage(m, scratchBytes, [x, planes, scale, bias], outSize);
  m.intConv2d(
    n, inH, inW, channels, px, pPlanes, pScale, pBias, pOut, a.kernelH, a.kernelW, a.strideH, a.strideW, a.padTop, a.padLeft, a.outH, a.outW,
    a.filters, a.weightBits, a.minCode, a.activationBits, a.inputScale, a.inputClip, a.inputPool, a.outputScale, a.outputClip, a.outputMax, scratch,
  );
  return new Float32Array(m.memory.buffer, pOut, outSize);
}

/**
 * The unsigned activation quantizer at inference (contract of `quantizeUnsigned` in
 * @srq/quantizers), on the WebAssembly SIMD build when loaded. Returns a view of the module's
 * memory when on wasm: copy it before the next call.
 */
export function runQuantizeUnsigned(x: Float32Array, a: UnsignedQuantizeAttrs, useWasm = true): Float32Array {
  const m = wasm.exports;
  if (!m || !useWasm) return quantizeUnsigned(x, a);
  const { at: [px], out: pOut } = stage(m, 0, [x], x.length);
  m.quantizeUnsigned(px, x.length, a.alpha, a.clip, a.maxCode, pOut);
  return new Float32Array(m.memory.buffer, pOut, x.length);
}

/**
 * The integer depthwise convolution (contract of `intDepthwiseConv2d` in @srq/quantizers), on the
 * WebAssembly SIMD build when loaded. Returns a view of the module's memory when on wasm: copy it
 * before the next call.
 */
export function runIntDepthwise(x: Float32Array, shape: readonly number[], weights: Int32Array, scale: Float32Array, bias: Float32Array, a: IntDepthwiseAttrs, useWasm = true): Float32Array {
  const m = wasm.exports;
  if (!m || !useWasm) return intDepthwiseConv2d(x, shape, weights, scale, bias, a);
  const [n, h, w, channels] = shape as [number, number, number, number];
  const outSize = n * a.outH * a.outW * channels;
  const { scratch, at: [px, pWeights, pScale, pBias], out: pOut } = stage(m, m.depthwiseScratchBytes(h, w, channels), [x, weights, scale, bias], outSize);
  m.intDepthwiseConv2d(
    n, h, w, channels, px, pWeights, pScale, pBias, pOut, a.kernelH, a.kernelW, a.strideH, a.strideW, a.padTop, a.padLeft, a.outH, a.outW,
    a.activationBits, a.inputScale, a.inputClip, a.outputScale, a.outputClip, a.outputMax, scratch,
  );
  return new Float32Array(m.memory.buffer, pOut, outSize);
}

/**
 * The float convolution with its ReLU, max-pool and unsigned quantizer fused (contract of
 * `convQuantize` in @srq/quantizers), on the WebAssembly SIMD build when loaded. Returns a view
 * of the module's memory when on wasm: copy it before the next call.
 */
export function runConvQuantize(x: Float32Array, shape: readonly number[], weights: Float32Array, bias: Float32Array, a: ConvQuantizeAttrs, useWasm = true): Float32Array {
  const m = wasm.exports;
  if (!m || !useWasm) return convQuantize(x, shape, weights, bias, a);
  const [n, inH, inW, channels] = shape as [number, number, number, number];
  const outSize = n * Math.floor(a.outH / a.pool) * Math.floor(a.outW / a.pool) * a.filters;
  const scratchBytes = m.convQuantizeScratchBytes(a.outH, a.outW, a.strideH, a.strideW, a.kernelH, a.kernelW, channels, a.filters);
  const { scratch, at: [px, pWeights, pBias], out: pOut } = stage(m, scratchBytes, [x, weights, bias], outSize);
  m.convQuantize(
    n, inH, inW, channels, px, pWeights, pBias, pOut, a.kernelH, a.kernelW, a.strideH, a.strideW, a.padTop, a.padLeft, a.outH, a.outW,
    a.filters, a.pool, a.alpha, a.clip, a.maxCode, scratch,
  );
  return new Float32Array(m.memory.buffer, pOut, outSize);
}

function quantizeKernel(backendName: 'wasm' | 'cpu', memory: (backend: tf.KernelBackend) => KernelMemory): tf.KernelConfig {
  return {
    kernelName: UNSIGNED_QUANTIZE_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x } = inputs as Record<string, tf.TensorInfo>;
      const m = memory(backend as tf.KernelBackend);
      return m.output([...x!.shape], runQuantizeUnsigned(m.read(x!) as Float32Array, attrs as unknown as UnsignedQuantizeAttrs));
    },
  };
}

function intConvKernel(backendName: 'wasm' | 'cpu', memory: (backend: tf.KernelBackend) => KernelMemory): tf.KernelConfig {
  return {
    kernelName: INT_CONV_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, planes, scale, bias } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as IntConvAttrs;
      const m = memory(backend as tf.KernelBackend);
      // views of the backend's memory: read completely before the output is allocated
      // a rank-2 input [n, K] is n pixels of K channels (a dense layer): the output is [n, filters]
      const dense = x!.shape.length === 2;
      const shape = dense ? [x!.shape[0]!, 1, 1, x!.shape[1]!] : x!.shape;
      const out = runIntConv(m.read(x!) as Float32Array, shape, m.read(planes!) as Int32Array, m.read(scale!) as Float32Array, m.read(bias!) as Float32Array, a);
      return m.output(dense ? [x!.shape[0]!, a.filters] : [x!.shape[0]!, a.outH, a.outW, a.filters], out);
    },
  };
}

function intDepthwiseKernel(backendName: 'wasm' | 'cpu', memory: (backend: tf.KernelBackend) => KernelMemory): tf.KernelConfig {
  return {
    kernelName: INT_DEPTHWISE_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, weights, scale, bias } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as IntDepthwiseAttrs;
      const m = memory(backend as tf.KernelBackend);
      const out = runIntDepthwise(m.read(x!) as Float32Array, x!.shape, m.read(weights!) as Int32Array, m.read(scale!) as Float32Array, m.read(bias!) as Float32Array, a);
      return m.output([x!.shape[0]!, a.outH, a.outW, a.channels], out);
    },
  };
}

function convQuantizeKernel(backendName: 'wasm' | 'cpu', memory: (backend: tf.KernelBackend) => KernelMemory): tf.KernelConfig {
  return {
    kernelName: CONV_QUANTIZE_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, weights, bias } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as ConvQuantizeAttrs;
      const m = memory(backend as tf.KernelBackend);
      const out = runConvQuantize(m.read(x!) as Float32Array, x!.shape, m.read(weights!) as Float32Array, m.read(bias!) as Float32Array, a);
      return m.output([x!.shape[0]!, Math.floor(a.outH / a.pool), Math.floor(a.outW / a.pool), a.filters], out);
    },
  };
}

/**
 * The kernels of packed models' integer inference (`INT_CONV_KERNEL`, `INT_DEPTHWISE_KERNEL`, `CONV_QUANTIZE_KERNEL` and
 * `UNSIGNED_QUANTIZE_KERNEL` of @srq/quantizers) for the wasm and cpu backends: the WebAssembly
 * SIMD build once {@link loadIntConvWasm} has run (`useBackend` does), else the JavaScript
 * reference.
 */
export const INT_CONV_KERNELS: tf.KernelConfig[] = [intConvKernel, intDepthwiseKernel, convQuantizeKernel, quantizeKernel].flatMap((kernel) => [kernel('wasm', wasmMemory), kernel('cpu', cpuMemory)]);
