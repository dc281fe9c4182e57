import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sealOf, sealProblem } from '@srq/quantizers';
import { checkModelSeal, concatBytes, manifestBytes, ModelFileError, parseModelJson, sealModelJson, type ModelSeal } from './model-file';

const MODEL_JSON = 'model.json';

/** Writes `data` to `file` atomically (a temporary file beside it, then a rename). */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/**
 * A tfjs IOHandler that saves to and loads from a directory with Node's `fs` (tfjs-node's
 * `file://` needs libtensorflow). Saving never leaves a half-written model: the weights go to a
 * new uniquely named file, then `model.json` (which names it) is replaced atomically, then older
 * weight files are removed — a crash at any point leaves the previous or the new model intact.
 * `model.json` records the weights' length and CRC-32 and its own (field `srq`), checked on load:
 * a truncated or altered file is a {@link ModelFileError} naming it. Loads plain tfjs models too
 * (no `srq` field: only the weights' length is checked).
 *
 * @example
 * ```ts
 * await model.save(fileSystem('runs/lenet'));
 * const same = await tf.loadLayersModel(fileSystem('runs/lenet'));
 * ```
 */
export function fileSystem(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      mkdirSync(dir, { recursive: true });
      const weightsFile = `weights-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.bin`;
      const weightData = artifacts.weightData ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)) : new Uint8Array();
      writeFileAtomic(join(dir, weightsFile), weightData);
      const { weightData: _data, weightSpecs, ...rest } = artifacts;
      void _data;
      const modelJson = sealModelJson({ ...rest, weightsManifest: [{ paths: [weightsFile], weights: weightSpecs ?? [] }] }, sealOf(weightData));
      writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      for (const f of readdirSync(dir)) if (/^weights-.*\.bin$/.test(f) && f !== weightsFile) rmSync(join(dir, f), { force: true });
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? {}).length,
          weightSpecsBytes: JSON.stringify(weightSpecs ?? []).length,
          weightDataBytes: weightData.byteLength,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const file = join(dir, MODEL_JSON);
      if (!existsSync(file)) throw new ModelFileError(`No saved model in ${dir} (missing ${MODEL_JSON}).`, file);
      const json = parseModelJson<tf.io.ModelJSON & { srq?: ModelSeal }>(readFileSync(file, 'utf8'), file);
      const seal = checkModelSeal(json, file);
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new ModelFileError(`${file} is not a layers model (no modelTopology or weightsManifest).`, file);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      const paths: string[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const wf = join(dir, p);
          if (!existsSync(wf)) throw new ModelFileError(`Weights file ${wf} named by ${file} is missing.`, wf);
          buffers.push(readFileSync(wf));
          paths.push(wf);
        }
      }
      const weightData = concatBytes(buffers);
      const where = paths.length === 1 ? paths[0]! : `the weights files of ${file}`;
      const problem = seal ? sealProblem(weightData, seal) : weightData.length === manifestBytes(specs) ? null : `${weightData.length} bytes, ${manifestBytes(specs)} described by ${file}`;
      if (problem) throw new ModelFileError(`${where} is damaged (${problem}).`, where);
      const { weightsManifest: _manifest, srq: _srq, ...rest } = json;
      void _manifest;
      void _srq;
      return { ...(rest as tf.io.ModelArtifacts), weightSpecs: specs, weightData: weightData.buffer };
    },
  };
}
