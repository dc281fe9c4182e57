import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import cliProgress from 'cli-progress';
import { batchCount, batches, imageSize, subset, type ImageDataset } from '@srq/datasets';
import { fitModelBitBudget, modelReport, ZOO } from '@srq/models';
import { DataParallel, defaultWorkers, trainStep, type ReplicaRecipe, type StepResult } from './data-parallel';
import { WorkerError } from './errors';
import { loadUserModel } from './user-model';
import { evaluate } from './evaluate';
import { quantConfig, type RunConfig } from './run-config';
import type { RunDir } from './run-dir';
import { quantizerStates } from './quantizer-state';

/** How data-parallel workers rebuild the run's model: from the zoo, or from the topology of a user's model. */
function replicaRecipe(run: RunConfig, totalSteps: number, dataset: ImageDataset, backend: string, model: tfl.LayersModel): ReplicaRecipe {
  const recipe: ReplicaRecipe = { model: run.model, quant: quantConfig(run, totalSteps), inputShape: dataset.shape, numClasses: dataset.numClasses, backend: backend === 'cpu' ? 'cpu' : 'wasm' };
  return run.modelFile ? { ...recipe, topology: model.toJSON(null, false) as object } : recipe;
}

/** What a finished (or stopped) run reports. */
export interface TrainSummary {
  test_error: number;
  epochs: number;
  wall_s: number;
  img_per_s: number;
  bits: Record<string, number>;
  model_bytes: number;
  float_bytes: number;
  /** Bit operations per image (convolution and dense layers; see `modelReport`). */
  bops_per_image: number;
  /** Mean learned bits over the quantized tensors (32 for a float model). */
  average_bits: number;
  status: 'completed' | 'interrupted' | 'nan';
  /** Learned bits with a budget (`targetBits`): how many bits were dropped after training to keep it (`fitModelBitBudget`). */
  budget_dropped_bits?: number;
  backend: string;
  /** Threads that computed (data-parallel workers + the main thread). */
  threads: number;
  config: RunConfig;
}

/** Thrown (and caught by the command) when the loss becomes NaN: the last good checkpoint stays. */
export class NanLossError extends Error {}

/** Cosine decay of the learning rate from `lr` to 0 over `total` steps. */
export function cosineLr(lr: number, step: number, total: number): number {
  return 0.5 * lr * (1 + Math.cos((Math.PI * Math.min(step, total)) / Math.max(total, 1)));
}

/**
 * Trains a zoo model on a dataset: Adam with cosine decay, one progress bar per epoch, a metrics
 * line, a test evaluation and an atomic checkpoint per epoch; resumes from the last checkpoint;
 * stops cleanly (saving) when `shouldStop()` turns true and on a NaN loss (keeping the last good
 * checkpoint).
 */
export async function train(run: RunConfig, dataset: ImageDataset, dir: RunDir, options: { resume: boolean; backend: string; workers?: number; shouldStop: () => boolean; quiet: boolean; model?: tfl.LayersModel }): Promise<TrainSummary> {
  const trainSplit = run.limit ? subset(dataset.train, run.limit, imageSize(dataset)) : dataset.train;
  const stepsPerEpoch = batchCount(trainSplit, { batchSize: run.batchSize });
  const totalSteps = stepsPerEpoch * run.epochs;
  const optimizer = tf.train.adam(run.lr);
  let model: tfl.LayersModel;
  let epoch = 0;
  let step = 0;
  let wallBefore = 0;
  let workers = options.workers ?? defaultWorkers();
  if (options.resume) {
    const ckpt = await dir.loadCheckpoint();
    model = ckpt.model;
    epoch = ckpt.state.epoch;
    step = ckpt.state.step; // mid-epoch (Ctrl-C): the epoch continues after the batches it has done
    wallBefore = ckpt.state.wallSeconds;
    const before = ckpt.state.workers;
    if (options.workers === undefined && before !== undefined) workers = before;
    else if (before !== undefined && before !== workers && !options.quiet) process.stderr.write(`srq: resuming with ${workers + 1} threads where the run had ${before + 1}: the result will not be bit-identical to an uninterrupted run\n`);
    await ckpt.restoreOptimizer(optimizer);
  } else {
    model = options.model ?? (run.modelFile ? await loadUserModel({ ...run, modelFile: run.modelFile }, dataset, totalSteps) : ZOO[run.model](quantConfig(run, totalSteps), { inputShape: dataset.shape, numClasses: dataset.numClasses }));
  }

  const started = performance.now();
  let images = 0;
  let trainSeconds = 0;
  let status: TrainSummary['status'] = 'completed';
  let lastTestError: number | null = null; // of the weights as they are now
  const parallel = workers > 0 ? await DataParallel.start(replicaRecipe(run, totalSteps, dataset, options.backend, model), workers, model, run.batchSize) : null;
  const bar = options.quiet || !process.stderr.isTTY ? null : new cliProgress.SingleBar({ format: 'epoch {epoch} |{bar}| {percentage}% | {value}/{total} steps | {ips} img/s | loss {loss} | acc {acc}%', stream: process.stderr }, cliProgress.Presets.shades_classic);

  try {
    outer: while (epoch < run.epochs) {
      const epochStart = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      bar?.start(stepsPerEpoch, 0, { epoch: epoch + 1, ips: 0, loss: '-', acc: '-' });
      let done = step - epoch * stepsPerEpoch; // > 0 when resuming mid-epoch: batches already trained on
      for (const batch of batches(dataset, trainSplit, { batchSize: run.batchSize, shuffleSeed: run.seed * 100_003 + epoch, augment: dataset.name === 'cifar10', augmentSeed: run.seed + epoch })) {
        if (done > 0) {
          done--;
          tf.dispose([batch.x, batch.y]); // the same shuffle: this batch was trained on before the interruption
          continue;
        }
        await new Promise((resolve) => setImmediate(resolve)); // lets Ctrl-C (SIGINT) be handled between steps
        if (options.shouldStop()) {
          tf.dispose([batch.x, batch.y]);
          status = 'interrupted';
          lastTestError = null; // trained past the last evaluation
          break outer;
        }
        (optimizer as unknown as { learningRate: number }).learningRate = cosineLr(run.lr, step, totalSteps);
        const t0 = performance.now();
        // the first step runs on the main thread alone: it initialises the quantizers from data
        let result: StepResult;
        try {
          result = await trainStep(model, optimizer, batch.x, batch.y, step > 0 ? parallel : null, step);
        } catch (e) {
          if (!(e instanceof WorkerError)) throw e;
          // the step was not applied: the weights are those after `step` steps, a resumable point
          bar?.stop();
          tf.dispose([batch.x, batch.y]);
          await dir.saveCheckpoint(model, optimizer, { epoch, step, partial: true, wallSeconds: wallBefore + (performance.now() - started) / 1000, workers });
          throw new WorkerError(`${e.message}; the run is saved at step ${step} in ${dir.dir} (continue it with --resume)`, { worker: e.fields.worker as number });
        }
        const { loss, hits } = result;
        trainSeconds += (performance.now() - t0) / 1000;
        tf.dispose([batch.x, batch.y]);
        if (!Number.isFinite(loss)) {
          bar?.stop();
          throw new NanLossError(`loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}; stopped, the last good checkpoint is kept in ${dir.dir}`);
        }
        step++;
        images += batch.size;
        seen += batch.size;
        lossSum += loss! * batch.size;
        correct += hits!;
        bar?.update(step - epoch * stepsPerEpoch, { ips: Math.round(images / trainSeconds), loss: (lossSum / seen).toFixed(4), acc: ((100 * correct) / seen).toFixed(2) });
      }
      bar?.stop();
      epoch++;
      const test = evaluate(model, dataset, dataset.test);
      lastTestError = test.error;
      const line = {
        epoch,
        step,
        loss: lossSum / Math.max(seen, 1),
        train_acc: (100 * correct) / Math.max(seen, 1),
        test_error: test.error,
        test_loss: test.loss,
        lr: cosineLr(run.lr, step, totalSteps),
        img_per_s: images / Math.max(trainSeconds, 1e-9),
        epoch_s: (performance.now() - epochStart) / 1000,
        wall_s: wallBefore + (performance.now() - started) / 1000,
        quantizers: quantizerStates(modelReport(model)), // how α and σ move over the run
      };
      dir.appendMetrics(line);
      if (!options.quiet) process.stderr.write(`epoch ${epoch}/${run.epochs}: loss ${line.loss.toFixed(4)}, train acc ${line.train_acc.toFixed(2)}%, test error ${test.error.toFixed(2)}%, ${Math.round(line.img_per_s)} img/s\n`);
      await dir.saveCheckpoint(model, optimizer, { epoch, step, partial: false, wallSeconds: line.wall_s, workers });
    }
  } finally {
    await parallel?.close();
  }
  const wall = wallBefore + (performance.now() - started) / 1000;
  if (status === 'interrupted') {
    await dir.saveCheckpoint(model, optimizer, { epoch, step, partial: true, wallSeconds: wall, workers });
  }
  // the budget constrained the expected bits; the learned bits inference uses must keep it too
  const budgeted = status === 'completed' && run.learnBits && run.targetBits !== null;
  const dropped = budgeted ? fitModelBitBudget(model, run.targetBits!) : 0;
  if (dropped > 0) {
    lastTestError = null; // evaluated again below, on the bits kept
    if (!options.quiet) process.stderr.write(`srq: dropped ${dropped} learned bit${dropped === 1 ? '' : 's'} to keep the budget of ${run.targetBits} average bits\n`);
  }
  await dir.saveModel(model);
  const report = modelReport(model);
  if (budgeted && report.averageBits > run.targetBits! + 1e-9 && !options.quiet) {
    process.stderr.write(`srq: the learned bits average ${report.averageBits.toFixed(2)}, above the budget of ${run.targetBits}: every gate that may close has (weights keep at least 2 bits, activations 1)\n`);
  }
  const summary: TrainSummary = {
    test_error: lastTestError ?? evaluate(model, dataset, dataset.test).error,
    epochs: epoch,
    wall_s: wall,
    img_per_s: images / Math.max(trainSeconds, 1e-9),
    bits: report.bits,
    model_bytes: report.modelBytes,
    float_bytes: report.floatBytes,
    bops_per_image: report.bopsPerImage,
    average_bits: report.averageBits,
    status,
    ...(budgeted ? { budget_dropped_bits: dropped } : {}),
    backend: options.backend,
    threads: workers + 1,
    config: run,
  };
  dir.writeSummary(summary);
  return summary;
}
