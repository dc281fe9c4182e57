import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { concatBytes, ModelFileError, writeFileAtomic } from './fs-io';
import type { QuantSlot } from './quant-slot';

/** How a packed weight is stored: `bits`-bit codes `k - minCode`, LSB first, rebuilt as `scale[c]·k`. */
export interface PackedWeightInfo {
  bits: number;
  minCode: number;
  scale: number[];
  channelAxis: number | null;
  byteLength: number;
}

/** A weights-manifest entry of a packed model (a tfjs entry plus `srq` for packed kernels). */
interface PackedEntry extends tf.io.WeightsManifestEntry {
  srq?: PackedWeightInfo;
}

const MODEL_JSON = 'model.json';
const WEIGHTS = 'weights.srqbin';

/** Packs integer codes at `bits` bits each (the values `code - minCode`, least significant bits first). */
export function packCodes(codes: ArrayLike<number>, bits: number, minCode: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((codes.length * bits) / 8));
  let bit = 0;
  for (let i = 0; i < codes.length; i++) {
    const v = codes[i]! - minCode;
    for (let b = 0; b < bits; b++, bit++) if ((v >> b) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  }
  return out;
}

/** Inverse of {@link packCodes}. */
export function unpackCodes(bytes: Uint8Array, count: number, bits: number, minCode: number): Int16Array {
  const out = new Int16Array(count);
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++, bit++) v |= ((bytes[bit >> 3]! >> (bit & 7)) & 1) << b;
    out[i] = v + minCode;
  }
  return out;
}

function slotOf(layer: tfl.layers.Layer): QuantSlot | null {
  return layer.getClassName() === 'QActivation' ? null : ((layer as unknown as { slot?: QuantSlot | null }).slot ?? null);
}

async function artifactsOf(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    captured = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return captured!;
}

/**
 * Exports a trained model with every quantized kernel stored as bit-packed integer codes at its
 * learned bit-width (2-bit: 4 codes per byte) plus its scales; every other weight (biases,
 * batch norm, quantizer parameters) stays float32. `model.json` is a tfjs layers-model file whose
 * manifest entries carry an `srq` field for packed weights; {@link loadPackedModel} reads it.
 *
 * @returns bytes of the weights file and of the same weights in float32
 */
export async function exportPacked(model: tfl.LayersModel, dir: string): Promise<{ packedBytes: number; floatBytes: number }> {
  const artifacts = await artifactsOf(model);
  const kernels = new Map<string, QuantSlot>();
  for (const layer of model.layers) {
    const slot = slotOf(layer);
    const kernel = layer.weights.find((w) => /\/kernel(_\d+)?$/.test(w.name));
    if (slot && kernel) for (const name of [kernel.name, kernel.originalName]) kernels.set(name, slot);
  }
  const values = tf.io.decodeWeights(tf.io.CompositeArrayBuffer.join(artifacts.weightData!), artifacts.weightSpecs!);
  const entries: PackedEntry[] = [];
  const chunks: Uint8Array[] = [];
  let floatBytes = 0;
  for (const spec of artifacts.weightSpecs!) {
    const tensor = values[spec.name]!;
    floatBytes += 4 * tensor.size;
    const slot = kernels.get(spec.name);
    if (slot) {
      const codes = slot.codes(tensor);
      const bits = slot.report().learnedBits;
      const bytes = packCodes(codes.codes, bits, slot.quantizer.grid.minCode);
      entries.push({ name: spec.name, shape: spec.shape, dtype: 'float32', srq: { bits, minCode: slot.quantizer.grid.minCode, scale: Array.from(codes.scale), channelAxis: codes.channelAxis, byteLength: bytes.byteLength } });
      chunks.push(bytes);
    } else {
      const bytes = new Uint8Array((tensor.dataSync() as Float32Array).slice().buffer);
      entries.push({ name: spec.name, shape: spec.shape, dtype: 'float32' });
      chunks.push(bytes);
    }
  }
  tf.dispose(Object.values(values));
  const data = concatBytes(chunks);
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, WEIGHTS), data);
  const json = { format: 'layers-model', generatedBy: artifacts.generatedBy, convertedBy: '@srq/models exportPacked', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: [WEIGHTS], weights: entries }] };
  writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(json));
  return { packedBytes: data.byteLength, floatBytes };
}

/**
 * Loads a model written by {@link exportPacked}: packed kernels are unpacked to float weights on
 * the grid (`scale·code`), everything else read as float32, into an ordinary tfjs LayersModel
 * whose activation quantizers are on. Its outputs equal the trained model's inference outputs
 * bit for bit (on the same backend).
 * @throws {@link ModelFileError} for a missing or malformed file
 */
export async function loadPackedModel(dir: string): Promise<tfl.LayersModel> {
  const file = join(dir, MODEL_JSON);
  if (!existsSync(file)) throw new ModelFileError(`No exported model in ${dir} (missing ${MODEL_JSON}).`, file);
  const json = JSON.parse(readFileSync(file, 'utf8')) as { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: PackedEntry[] }> };
  const group = json.weightsManifest[0];
  const weightsFile = join(dir, group?.paths[0] ?? WEIGHTS);
  if (!group || !existsSync(weightsFile)) throw new ModelFileError(`Weights file ${weightsFile} named by ${file} is missing.`, weightsFile);
  const bytes = readFileSync(weightsFile);
  const floats: Float32Array[] = [];
  let o = 0;
  for (const entry of group.weights) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.srq) {
      const { bits, minCode, scale, channelAxis, byteLength } = entry.srq;
      const codes = unpackCodes(new Uint8Array(bytes.buffer, bytes.byteOffset + o, byteLength), count, bits, minCode);
      const inner = channelAxis === null ? count : entry.shape.slice(channelAxis + 1).reduce((a, b) => a * b, 1);
      floats.push(Float32Array.from(codes, (k, i) => Math.fround(scale[channelAxis === null ? 0 : Math.floor(i / inner) % scale.length]! * k)));
      o += byteLength;
    } else {
      floats.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset + o, bytes.byteOffset + o + 4 * count)));
      o += 4 * count;
    }
  }
  if (o !== bytes.byteLength) throw new ModelFileError(`${weightsFile} has ${bytes.byteLength} bytes; the manifest describes ${o}.`, weightsFile);
  const weightData = concatBytes(floats);
  const weightSpecs = group.weights.map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }));
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }));
}
