import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileSystem, writeFileAtomic } from '@srq/models';
import { UsageError } from './errors';

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
    return JSON.parse(readFileSync(file, 'utf8')) as T;
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
    writeFileAtomic(join(dir, 'optimizer.bin'), new Uint8Array(data as ArrayBuffer));
    writeFileAtomic(join(dir, 'optimizer.json'), JSON.stringify(specs));
    writeFileAtomic(join(this.checkpoints, 'state.json'), JSON.stringify({ ...state, dir: name }));
    for (const entry of readdirSync(this.checkpoints)) if (entry !== name && entry !== 'state.json') rmSync(join(this.checkpoints, entry), { recursive: true, force: true });
  }

  /** The last complete checkpoint: model (custom layers registered by `@srq/models`), optimizer weights and state. */
  async loadCheckpoint(): Promise<{ model: tfl.LayersModel; optimizerWeights: Array<{ name: string; tensor: tf.Tensor }>; state: CheckpointState }> {
    const state = JSON.parse(readFileSync(join(this.checkpoints, 'state.json'), 'utf8')) as CheckpointState;
    const dir = join(this.checkpoints, state.dir);
    const model = await tfl.loadLayersModel(fileSystem(dir));
    const specs = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
    const buf = readFileSync(join(dir, 'optimizer.bin'));
    const named = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
    return { model, optimizerWeights: Object.entries(named).map(([name, tensor]) => ({ name, tensor })), state };
  }

  async saveModel(model: tfl.LayersModel): Promise<void> {
    await model.save(fileSystem(this.modelDir));
  }
}
