import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { sealProblem } from '@srq/quantizers';
import { checkModelSeal, concatBytes, ModelFileError, parseModelJson, type ModelSeal } from './model-file';
import { integerKernelAvailable, integerModel, type PackedKernel } from './integer-inference';

// The packed model format of `exportPacked` (no Node imports: browsers load it too).

/** How a packed weight is stored: `bits`-bit codes `k - minCode`, LSB first, rebuilt as `scale[c]·k`. */
export interface PackedWeightInfo {
  bits: number;
  minCode: number;
  scale: number[];
  channelAxis: number | null;
  byteLength: number;
}

/** A weights-manifest entry of a packed model (a tfjs entry plus `srq` for packed kernels). */
export interface PackedEntry extends tf.io.WeightsManifestEntry {
  srq?: PackedWeightInfo;
}

/** File names of a packed model. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS = 'weights.srqbin';

/** `model.json` of a packed model. */
export interface PackedModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: PackedEntry[] }>;
  /** Format version and integrity (the weights' length and CRC-32, and this file's). */
  srq?: ModelSeal;
}

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

/**
 * Builds the model of a packed export from its `model.json` and weights bytes: packed kernels are
 * unpacked to float weights on the grid (`scale·code`), everything else read as float32, into an
 * ordinary tfjs LayersModel whose activation quantizers are on. Its outputs equal the trained
 * model's inference outputs bit for bit (on the same backend). Import `@srq/models` first (it
 * registers the quantized layers).
 *
 * With `integer` (default: where the active backend has the integer kernel, which `useBackend` of
 * `@srq/backends` registers), the model runs on integers instead ({@link integerModel}): its
 * quantized convolution and dense layers keep only their codes, as bit planes, and compute exact
 * integer dot products; the outputs then equal the float graph's up to float rounding.
 * @param where - names the weights in error messages
 * @param jsonWhere - names `model.json` in error messages
 * @param options - `integer`: run on integers (see above)
 * @throws {@link ModelFileError} for another format version, a damaged `model.json`, or weights
 *   whose length or checksum differ from what it recorded
 */
export async function parsePackedModel(json: PackedModelJson, bytes: Uint8Array, where = WEIGHTS, jsonWhere = MODEL_JSON, options: PackedLoadOptions = {}): Promise<tfl.LayersModel> {
  const seal = checkModelSeal(json, jsonWhere);
  if (!seal) throw new ModelFileError(`${jsonWhere} is not a packed export of this format (no "srq" field).`, jsonWhere);
  const problem = sealProblem(bytes, seal);
  if (problem) throw new ModelFileError(`${where} is damaged (${problem}).`, where);
  const group = json.weightsManifest?.[0];
  if (!group) throw new ModelFileError(`${where}: the model has no weights manifest.`, where);
  const floats: Float32Array[] = [];
  const kernels = new Map<string, PackedKernel>();
  let o = 0;
  for (const entry of group.weights) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.srq) {
      const { bits, minCode, scale, channelAxis, byteLength } = entry.srq;
      const codes = unpackCodes(new Uint8Array(bytes.buffer, bytes.byteOffset + o, byteLength), count, bits, minCode);
      kernels.set(entry.name, { codes, info: entry.srq });
      const inner = channelAxis === null ? count : entry.shape.slice(channelAxis + 1).reduce((a, b) => a * b, 1);
      floats.push(Float32Array.from(codes, (k, i) => Math.fround(scale[channelAxis === null ? 0 : Math.floor(i / inner) % scale.length]! * k)));
      o += byteLength;
    } else {
      floats.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset + o, bytes.byteOffset + o + 4 * count)));
      o += 4 * count;
    }
  }
  if (o !== bytes.byteLength) throw new ModelFileError(`${where} has ${bytes.byteLength} bytes; the manifest describes ${o}.`, where);
  const weightData = concatBytes(floats);
  const weightSpecs = group.weights.map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }));
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }));
  return options.integer ?? integerKernelAvailable() ? integerModel(model, kernels) : model;
}

/** Options of {@link parsePackedModel}, `loadPackedModel` and {@link loadPackedModelFromUrl}. */
export interface PackedLoadOptions {
  /** Run the quantized layers on integers (default: where the active backend has the integer kernel). */
  integer?: boolean;
}

/**
 * Loads a packed export over HTTP(S) (browsers, or Node's fetch): `url` is its `model.json`; the
 * weights file is resolved beside it.
 * @throws {@link ModelFileError} when a file cannot be fetched or does not parse
 */
export async function loadPackedModelFromUrl(url: string | URL, options: PackedLoadOptions = {}): Promise<tfl.LayersModel> {
  const get = async (u: URL) => {
    const res = await fetch(u);
    if (!res.ok) throw new ModelFileError(`Could not fetch ${u} (HTTP ${res.status}).`, String(u));
    return res;
  };
  const base = new URL(url, globalThis.location?.href);
  const json = parseModelJson<PackedModelJson>(await (await get(base)).text(), String(base));
  const weightsUrl = new URL(json.weightsManifest?.[0]?.paths[0] ?? WEIGHTS, base);
  return parsePackedModel(json, new Uint8Array(await (await get(weightsUrl)).arrayBuffer()), String(weightsUrl), String(base), options);
}
