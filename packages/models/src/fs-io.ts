import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concatBytes, ModelFileError } from './model-file';

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
      const modelJson = { ...rest, weightsManifest: [{ paths: [weightsFile], weights: weightSpecs ?? [] }] };
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
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(readFileSync(file, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new ModelFileError(`${file} is not valid JSON: ${(e as Error).message}.`, file);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const wf = join(dir, p);
          if (!existsSync(wf)) throw new ModelFileError(`Weights file ${wf} named by ${file} is missing.`, wf);
          buffers.push(readFileSync(wf));
        }
      }
      const weightData = concatBytes(buffers);
      const { weightsManifest: _manifest, ...rest } = json;
      void _manifest;
      return { ...(rest as tf.io.ModelArtifacts), weightSpecs: specs, weightData: weightData.buffer };
    },
  };
}
