import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { ImageDataset } from '@srq/datasets';
import { fileSystem, quantizeModel } from '@srq/models';
import { UsageError } from './errors';
import { quantConfig, type RunConfig } from './run-config';

/**
 * The user's own model of a run (`srq train --model-file path/model.json`): a tfjs layers model
 * (written by tfjs or converted from Keras), checked against the dataset, then quantized with the
 * run's settings by `quantizeModel` (`--method fp` trains it as it is).
 *
 * @throws {@link UsageError} when the file is not a model.json, or the model's input shape or
 *   class count does not fit the dataset
 */
export async function loadUserModel(run: RunConfig & { modelFile: string }, dataset: ImageDataset, totalSteps = 0): Promise<tfl.LayersModel> {
  const file = resolve(run.modelFile);
  if (basename(file) !== 'model.json' || !existsSync(file)) throw new UsageError(`--model-file ${run.modelFile}: expected the path of an existing model.json.`, { file });
  const model = await tfl.loadLayersModel(fileSystem(dirname(file)));
  const input = model.inputs[0]!.shape.slice(1);
  if (model.inputs.length !== 1 || JSON.stringify(input) !== JSON.stringify(dataset.shape)) {
    throw new UsageError(`--model-file ${run.modelFile}: the model takes inputs of shape [${input.join(', ')}]; ${dataset.name} images are [${dataset.shape.join(', ')}].`, { file });
  }
  const classes = model.outputs[0]!.shape.at(-1);
  if (model.outputs.length !== 1 || model.outputs[0]!.shape.length !== 2 || classes !== dataset.numClasses) {
    throw new UsageError(`--model-file ${run.modelFile}: the model outputs [${model.outputs[0]!.shape.slice(1).join(', ')}] values per image; ${dataset.name} has ${dataset.numClasses} classes.`, { file });
  }
  return run.method === 'fp' ? model : quantizeModel(model, quantConfig(run, totalSteps));
}
