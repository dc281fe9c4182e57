import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileSystem, writeFileAtomic } from '@srq/models';
import { openJson, sealJson, sealOf, sealProblem, type Seal } from '@srq/quantizers';
import { RunFileError, UsageError } from './errors';

/** Format version of `state.json` and `optimizer.json`. */
export const CHECKPOINT_FORMAT = 1;

/** What a checkpoint's `state.json` records. */
export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Directory (inside `checkpoints/`) holding the model and optimizer state. */
  dir: string;
  /** True when saved mid-epoch (Ctrl-C): resuming continues that epoch after its first `step - epoch·stepsPerEpoch` batches. */
  partial: boolean;
  wallSeconds: number;
  /** Data-parallel worker threads the run trained with (absent in checkpoints of older versions). */
  workers?: number;
}

/** `optimizer.json` of a checkpoint: the weight specs of `optimizer.bin`, its seal, and Adam's bias-correction powers. */
interface OptimizerFile {
  specs: tf.io.WeightsManifestEntry[];
  weights: Seal;
  /** β1^t and β2^t as Adam accumulated them step by step (restoring them as powers would differ in the last bits). */
  accBeta: [number, number] | null;
}

/** Adam's running β powers (tfjs keeps them as `accBeta1` / `accBeta2`), or null for another optimizer. */
function accBetaOf(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | null {
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return o.accBeta1 && o.accBeta2 ? [o.accBeta1, o.accBeta2] : null;
}

/** Reads a file of a run, or throws a {@link RunFileError} naming it. */
function readRunFile(file: string): Buffer {
  if (!existsSync(file)) throw new RunFileError(`${file} is missing.`, file);
  return readFileSync(file);
}

/** Reads a document written with `sealJson`, or throws a {@link RunFileError} naming the file and the problem. */
function readSealed<T>(file: string): T {
  return openJson<T>(readRunFile(file).toString('utf8'), CHECKPOINT_FORMAT, (problem) => new RunFileError(`${file} is damaged (${problem}).`, file));
}

/**
 * The files of one training run: `run.json` (the configuration), `metrics.jsonl`,
 * `summary.json`, `model/` (the final model) and `checkpoints/` with `state.json` as the commit
 * point: a checkpoint is written into a new directory, then `state.json` is replaced atomically
 * to name it, then older checkpoint directories are removed — an interruption at any moment
 * leaves the last complete checkpoint.
 */
export class RunDir {
  constructor(readonly dir: string) {}

  get modelDir(): string {
    return join(this.dir, 'model');
  }

  private get checkpoints(): string {
    return join(this.dir, 'checkpoints');
  }

  hasCheckpoint(): boolean {
    return existsSync(join(this.checkpoints, 'state.json'));
  }

  exists(): boolean {
    return existsSync(join(this.dir, 'run.json'));
  }

  writeConfig(config: object): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(join(this.dir, 'run.json'), `${JSON.stringify(config, null, 2)}\n`);
  }

  readConfig<T>(): T {
    const file = join(this.dir, 'run.json');
    if (!existsSync(file)) throw new UsageError(`${this.dir} is not a run directory (no run.json).`, { file });
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (e) {
      throw new RunFileError(`${file} is not valid JSON (${(e as Error).message.split('\n')[0]}).`, file);
    }
  }

  /** Appends one JSON line to metrics.jsonl. */
  appendMetrics(line: object): void {
    const file = join(this.dir, 'metrics.jsonl');
    const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileAtomic(file, `${previous}${JSON.stringify(line)}\n`);
  }

  writeSummary(summary: object): void {
    writeFileAtomic(join(this.dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }

  async saveCheckpoint(model: tfl.LayersModel, optimizer: tf.Optimizer, state: Omit<CheckpointState, 'dir'>): Promise<void> {
    const name = `epoch-${state.epoch}${state.partial ? '-partial' : ''}-${Date.now().toString(36)}`;
    const dir = join(this.checkpoints, name);
    await model.save(fileSystem(dir));
    const weights = await optimizer.getWeights();
    const { data, specs } = await tf.io.encodeWeights(weights);
    const bytes = new Uint8Array(data as ArrayBuffer);
    writeFileAtomic(join(dir, 'optimizer.bin'), bytes);
    const accBeta = accBetaOf(optimizer);
    const file: OptimizerFile = { specs, weights: sealOf(bytes), accBeta: accBeta ? [accBeta[0].dataSync()[0]!, accBeta[1].dataSync()[0]!] : null };
    writeFileAtomic(join(dir, 'optimizer.json'), sealJson(CHECKPOINT_FORMAT, file));
    writeFileAtomic(join(this.checkpoints, 'state.json'), sealJson(CHECKPOINT_FORMAT, { ...state, dir: name }));
    for (const entry of readdirSync(this.checkpoints)) if (entry !== name && entry !== 'state.json') rmSync(join(this.checkpoints, entry), { recursive: true, force: true });
  }

  /**
   * The last complete checkpoint: the model (custom layers registered by `@srq/models`) and its
   * state, with a function that restores `optimizer` to the checkpoint's state exactly. Every
   * file is checked (format version, length, CRC-32) before anything is used.
   * @throws {@link RunFileError} or `ModelFileError` naming a missing or damaged file
   */
  async loadCheckpoint(): Promise<{ model: tfl.LayersModel; restoreOptimizer: (optimizer: tf.Optimizer) => Promise<void>; state: CheckpointState }> {
    const state = readSealed<CheckpointState>(join(this.checkpoints, 'state.json'));
    const dir = join(this.checkpoints, state.dir);
    const opt = readSealed<OptimizerFile>(join(dir, 'optimizer.json'));
    const binFile = join(dir, 'optimizer.bin');
    const buf = readRunFile(binFile);
    const problem = sealProblem(buf, opt.weights);
    if (problem) throw new RunFileError(`${binFile} is damaged (${problem}).`, binFile);
    const model = await tfl.loadLayersModel(fileSystem(dir));
    const restoreOptimizer = async (optimizer: tf.Optimizer) => {
      const named = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, opt.specs);
      await optimizer.setWeights(Object.entries(named).map(([name, tensor]) => ({ name, tensor }))); // recreates Adam's moments, in variable order
      const accBeta = accBetaOf(optimizer);
      if (accBeta && opt.accBeta) tf.tidy(() => accBeta.forEach((v, i) => v.assign(tf.scalar(opt.accBeta![i]!))));
    };
    return { model, restoreOptimizer, state };
  }

  async saveModel(model: tfl.LayersModel): Promise<void> {
    await model.save(fileSystem(this.modelDir));
  }
}
