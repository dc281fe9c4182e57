import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-io';
import { sealOf } from '@srq/quantizers';
import { concatBytes, ModelFileError, parseModelJson, sealModelJson } from './model-file';
import { MODEL_JSON, packCodes, parsePackedModel, WEIGHTS, type PackedEntry, type PackedLoadOptions, type PackedModelJson } from './packed-format';
import type { QuantSlot } from './quant-slot';
import { QWeightLayer } from './q-weight-layer';

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

/** Topology of one layer in a model.json (tfjs writes config keys in snake_case). */
interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/**
 * Replaces, in the artifacts about to be exported, every weight layer that folds a batch
 * normalisation by the plain layer inference runs: its kernel is the folded `W·γ/σ`, its bias the
 * folded bias (from the moving averages), and the BN's weights and config are gone. Returns the
 * weight specs to write; `values` is updated in place.
 */
function foldBatchNorms(model: tfl.LayersModel, artifacts: tf.io.ModelArtifacts, values: tf.NamedTensorMap): tf.io.WeightsManifestEntry[] {
  let specs = [...artifacts.weightSpecs!];
  const topology = artifacts.modelTopology as { config: { layers: LayerJson[] } };
  for (const layer of model.layers) {
    if (!(layer instanceof QWeightLayer) || !layer.batchNorm) continue;
    const { kernel, bias } = tf.tidy(() => {
      const w = layer.effectiveWeights(false);
      return { kernel: w.kernel.clone(), bias: w.bias!.clone() };
    });
    const prefix = `${layer.name}/`;
    tf.dispose([values[`${prefix}kernel`]!, values[`${prefix}bias`] ?? []].flat());
    values[`${prefix}kernel`] = kernel;
    values[`${prefix}bias`] = bias;
    const bnWeights = new Set(['gamma', 'beta', 'moving_mean', 'moving_variance', 'bn_steps'].map((n) => `${prefix}${n}`));
    for (const name of bnWeights) tf.dispose(values[name] ?? []);
    const at = specs.findIndex((s) => s.name === `${prefix}kernel`);
    specs = specs.filter((s) => !bnWeights.has(s.name) && s.name !== `${prefix}bias`);
    specs.splice(at, 0, { name: `${prefix}bias`, shape: bias.shape, dtype: 'float32' });
    [specs[at], specs[at + 1]] = [specs[at + 1]!, specs[at]!]; // kernel, then bias
    const json = topology.config.layers.find((l) => l.config.name === layer.name);
    if (json) {
      delete json.config.batch_norm;
      json.config.use_bias = true;
    }
  }
  return specs;
}

/**
 * Exports a trained model with every quantized kernel stored as bit-packed integer codes at its
 * learned bit-width (2-bit: 4 codes per byte) plus its scales; every other weight (biases,
 * batch norm, quantizer parameters) stays float32. `model.json` is a tfjs layers-model file whose
 * manifest entries carry an `srq` field for packed weights; {@link loadPackedModel} reads it.
 * A batch normalisation folded into a layer is exported folded: the layer's packed kernel is
 * `W·γ/σ` and its bias the folded bias, with no BN weights (what integer inference runs).
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
  const specs = foldBatchNorms(model, artifacts, values);
  const entries: PackedEntry[] = [];
  const chunks: Uint8Array[] = [];
  let floatBytes = 0;
  for (const spec of specs) {
    const tensor = values[spec.name]!;
    floatBytes += 4 * tensor.size;
    const slot = kernels.get(spec.name);
    if (slot) {
      const codes = slot.storedCodes(tensor);
      const bytes = packCodes(codes.codes, codes.bits, codes.minCode);
      entries.push({ name: spec.name, shape: spec.shape, dtype: 'float32', srq: { bits: codes.bits, minCode: codes.minCode, scale: Array.from(codes.scale), channelAxis: codes.channelAxis, byteLength: bytes.byteLength } });
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
  const json = sealModelJson({ format: 'layers-model', generatedBy: artifacts.generatedBy, convertedBy: '@srq/models exportPacked', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: [WEIGHTS], weights: entries }] }, sealOf(data));
  writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(json));
  return { packedBytes: data.byteLength, floatBytes };
}

/**
 * Loads a model written by {@link exportPacked} from a directory (Node): see
 * {@link parsePackedModel}; in browsers use `loadPackedModelFromUrl`.
 * @throws {@link ModelFileError} naming the file: missing, malformed, another format version,
 *   truncated or altered (length and CRC-32 recorded in `model.json`)
 */
export async function loadPackedModel(dir: string, options: PackedLoadOptions = {}): Promise<tfl.LayersModel> {
  const file = join(dir, MODEL_JSON);
  if (!existsSync(file)) throw new ModelFileError(`No exported model in ${dir} (missing ${MODEL_JSON}).`, file);
  const json = parseModelJson<PackedModelJson>(readFileSync(file, 'utf8'), file);
  const weightsFile = join(dir, json.weightsManifest?.[0]?.paths[0] ?? WEIGHTS);
  if (!existsSync(weightsFile)) throw new ModelFileError(`Weights file ${weightsFile} named by ${file} is missing.`, weightsFile);
  return parsePackedModel(json, readFileSync(weightsFile), weightsFile, file, options);
}
