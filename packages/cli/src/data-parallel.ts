import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendMemory } from '@srq/backends';
import { seekRandomStreams, type ModelQuantConfig, type ZooName } from '@srq/models';
import { WorkerError } from './errors';

/** How a worker thread builds its replica of the model (weights come from the main thread). */
export interface ReplicaRecipe {
  model: ZooName;
  quant: ModelQuantConfig;
  inputShape: [number, number, number];
  numClasses: number;
  backend: 'wasm' | 'cpu';
  /**
   * Fault injection, for tests of the failure path: at its `at`-th request (1-based) the worker
   * throws (`'throw'`) or exits its thread (`'exit'`).
   */
  fault?: { at: number; kind: 'throw' | 'exit' };
  /** The model's topology (`model.toJSON()`), for a model that is not from the zoo (`srq train --model-file`). */
  topology?: object;
}

/** Seed offset of data-parallel replica k (1-based): each draws its own DropBits / sampling noise. */
const replicaSeedOffset = (k: number): number => 7919 * k;

/**
 * A copy of a model topology (`model.toJSON()`, parsed) with every `seed` in its layer configs
 * moved by `offset`: quantizers' noise and drops, dropout, initialisers. A data-parallel replica
 * built from it draws its own noise, as a zoo replica built with another seed does.
 */
export function reseededTopology(topology: object, offset: number): object {
  const walk = (v: unknown, key?: string): unknown => {
    if (key === 'seed' && typeof v === 'number') return v + offset;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(topology) as object;
}

/** Default data-parallel worker threads: one per CPU core beyond the main thread's. */
export const defaultWorkers = (): number => Math.max(0, availableParallelism() - 1);

/** One training step's results. */
export interface StepResult {
  loss: number;
  hits: number;
}

/** Control words shared with a worker (Int32Array indices). */
export const CTRL = { request: 0, done: 1, rows: 2, failed: 3, errorLength: 4, step: 5, size: 8 } as const;
/** Bytes of a worker's error message (UTF-8, cut to fit). */
export const ERROR_BYTES = 4096;
/** `request` value that tells a worker to exit. */
export const STOP = -1;

/** The shared memory of one worker, as both sides view it. */
export interface WorkerBuffers {
  ctrl: SharedArrayBuffer;
  /** Shard images then one-hot labels, f32. */
  input: SharedArrayBuffer;
  /** Gradients of the trainable weights (in order, flat) then loss and hits, f32. */
  output: SharedArrayBuffer;
  /** Every weight of the model (in `model.weights` order, flat), f32; shared by all workers. */
  weights: SharedArrayBuffer;
  /** The worker's {@link BackendMemory} after its last step, f64: tensors, bytes, heap bytes (-1: none). */
  memory: SharedArrayBuffer;
  /** The worker's error message, UTF-8 ({@link CTRL}.errorLength bytes): read without the event loop. */
  error: SharedArrayBuffer;
}

/** Writes a worker's error message where the blocked main thread can read it, then flags the failure. */
export function reportWorkerError(buffers: WorkerBuffers, message: string): void {
  const bytes = new TextEncoder().encode(message).subarray(0, ERROR_BYTES);
  new Uint8Array(buffers.error).set(bytes);
  const ctrl = new Int32Array(buffers.ctrl);
  Atomics.store(ctrl, CTRL.errorLength, bytes.length);
  Atomics.store(ctrl, CTRL.failed, 1);
}

/** Writes a worker's memory after a step. */
export function reportWorkerMemory(buffers: WorkerBuffers, memory: BackendMemory): void {
  new Float64Array(buffers.memory).set([memory.tensors, memory.bytes, memory.heapBytes ?? -1]);
}

function readWorkerError(buffers: WorkerBuffers): string {
  const length = Atomics.load(new Int32Array(buffers.ctrl), CTRL.errorLength);
  return new TextDecoder().decode(new Uint8Array(buffers.error).slice(0, length));
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

const probabilityOutputs = new WeakMap<tfl.LayersModel, boolean>();

/** True when the model ends in a softmax (its outputs are probabilities, as most tfjs classifiers' are), false for logits. */
export function outputsProbabilities(model: tfl.LayersModel): boolean {
  let known = probabilityOutputs.get(model);
  if (known === undefined) {
    const last = model.outputs[0]!.sourceLayer;
    const config = last.getConfig() as { activation?: string };
    known = last.getClassName() === 'Softmax' || config.activation === 'softmax';
    probabilityOutputs.set(model, known);
  }
  return known;
}

/**
 * The loss of a batch (cross-entropy plus the layers' losses, e.g. bit-gate penalties) and the
 * model's outputs: softmax cross-entropy of logits, or the cross-entropy of probabilities for a
 * model that ends in a softmax.
 */
export function batchLoss(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: tf.Scalar; logits: tf.Tensor } {
  const logits = model.apply(x, { training: true }) as tf.Tensor;
  const ce = outputsProbabilities(model) ? tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(logits, 1e-7, 1))), -1))) : tf.losses.softmaxCrossEntropy(y, logits);
  const penalties = model.calculateLosses();
  return { loss: (penalties.length ? tf.addN([ce, ...penalties]) : ce) as tf.Scalar, logits };
}

/** Gradients of {@link batchLoss} for `variables`, with the loss and the number of correct predictions. */
export function shardGradients(model: tfl.LayersModel, variables: tf.Variable[], x: tf.Tensor, y: tf.Tensor): { grads: tf.Tensor[]; loss: tf.Scalar; hits: tf.Scalar } {
  let logits: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = batchLoss(model, x, y);
    logits = tf.keep(out.logits);
    return out.loss;
  }, variables);
  const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits!, 1), tf.argMax(y, 1)), 'float32')) as tf.Scalar;
  tf.dispose(logits!);
  return { grads: variables.map((v) => grads[v.name]!), loss: value, hits };
}

/**
 * Synchronous data-parallel training over worker threads: every step, each worker takes an equal
 * share of the batch, computes gradients on its replica (weights copied from the main thread's
 * model before the step, through shared memory), while the main thread computes its own share;
 * the gradients are averaged (weighted by share) and the main thread's optimizer applies them —
 * the same update as one thread computing the whole batch, up to the DropBits noise (each replica
 * draws its own) and batch-norm statistics (each replica normalises its share; the moving averages
 * are the main thread's).
 */
export class DataParallel {
  private constructor(
    private readonly workers: Worker[],
    private readonly buffers: WorkerBuffers[],
    private readonly weightsView: Float32Array,
    private readonly maxRows: number,
    private failure: WorkerError | null,
    /** Per worker: settles when the thread exits (it should not before {@link close}). */
    private readonly exits: Array<Promise<void>> = [],
  ) {}

  /** Number of threads computing (workers + the main thread). */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Starts `workers` threads, each building a replica by `recipe`; rejects if a replica's weights
   * do not match `model`'s.
   */
  static async start(recipe: ReplicaRecipe, workers: number, model: tfl.LayersModel, maxBatch: number): Promise<DataParallel> {
    const weightSizes = model.weights.map((w) => sizeOf(w.shape as number[]));
    const trainableSize = model.trainableWeights.reduce((s, w) => s + sizeOf(w.shape as number[]), 0);
    const maxRows = Math.ceil(maxBatch / (workers + 1));
    const weights = new SharedArrayBuffer(4 * weightSizes.reduce((a, b) => a + b, 0));
    const rowSize = sizeOf(recipe.inputShape) + recipe.numClasses;
    const buffers: WorkerBuffers[] = [];
    const threads: Worker[] = [];
    const parallel = new DataParallel(threads, buffers, new Float32Array(weights), maxRows, null);
    const ready: Array<Promise<void>> = [];
    for (let k = 0; k < workers; k++) {
      const b: WorkerBuffers = {
        ctrl: new SharedArrayBuffer(4 * CTRL.size),
        input: new SharedArrayBuffer(4 * maxRows * rowSize),
        output: new SharedArrayBuffer(4 * (trainableSize + 2)),
        weights,
        memory: new SharedArrayBuffer(8 * 3),
        error: new SharedArrayBuffer(ERROR_BYTES),
      };
      // each replica draws its own DropBits / sampling noise
      const offset = replicaSeedOffset(k + 1);
      const replica: ReplicaRecipe = { ...recipe, quant: { ...recipe.quant, seed: (recipe.quant.seed ?? 0) + offset }, ...(recipe.topology ? { topology: reseededTopology(recipe.topology, offset) } : {}) };
      const worker = new Worker(new URL('./data-parallel-worker.js', import.meta.url), {
        workerData: { recipe: replica, buffers: b, weightShapes: model.weights.map((w) => w.shape), trainableNames: model.trainableWeights.map((w) => w.originalName) },
      });
      ready.push(
        new Promise((resolve, reject) => {
          worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error))));
          worker.once('error', reject);
        }),
      );
      worker.on('error', (e) => (parallel.failure ??= new WorkerError(`data-parallel worker ${k + 1} failed: ${e.message}`, { worker: k + 1 })));
      parallel.exits.push(
        new Promise((resolve) =>
          worker.once('exit', (code) => {
            parallel.failure ??= new WorkerError(`data-parallel worker ${k + 1} exited (code ${code})`, { worker: k + 1 });
            resolve();
          }),
        ),
      );
      buffers.push(b);
      threads.push(worker);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await parallel.close();
      throw new Error(`data-parallel worker failed to start: ${(e as Error).message}`);
    }
    return parallel;
  }

  /**
   * Averaged gradients of {@link batchLoss} over the whole batch for `model.trainableWeights`,
   * computed in parallel; the caller applies them. Tensors are the caller's. With `step`, every
   * replica's random streams are sought to that step first (see `seekRandomStreams`; the caller
   * seeks the main thread's model).
   *
   * @throws Error naming the worker and its own message when a worker fails or exits
   */
  async gradients(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, step = -1): Promise<{ grads: tf.NamedTensorMap; loss: number; hits: number }> {
    if (this.failure) throw this.failure;
    const n = x.shape[0]!;
    const share = Math.min(this.maxRows, Math.ceil(n / this.threads));
    // weights out, shards out, go
    let offset = 0;
    for (const w of model.weights) {
      const values = w.read().dataSync() as Float32Array;
      this.weightsView.set(values, offset);
      offset += values.length;
    }
    const rows: number[] = [];
    let start = Math.min(n, share); // the main thread keeps the first share
    for (const b of this.buffers) {
      const count = Math.max(0, Math.min(share, n - start));
      rows.push(count);
      if (count > 0) {
        const input = new Float32Array(b.input);
        const xs = tf.tidy(() => tf.slice(x, start, count).dataSync());
        const ys = tf.tidy(() => tf.slice(y, start, count).dataSync());
        input.set(xs, 0);
        input.set(ys, xs.length);
      }
      const ctrl = new Int32Array(b.ctrl);
      Atomics.store(ctrl, CTRL.rows, count);
      Atomics.store(ctrl, CTRL.step, step);
      Atomics.add(ctrl, CTRL.request, 1);
      Atomics.notify(ctrl, CTRL.request);
      start += count;
    }
    const mainRows = Math.min(n, share);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const mine = tf.tidy(() => {
      const out = shardGradients(model, variables, tf.slice(x, 0, mainRows), tf.slice(y, 0, mainRows));
      return { grads: out.grads.map((g) => tf.mul(g, mainRows / n)), stats: tf.stack([tf.mul(out.loss, mainRows / n), out.hits]) };
    });
    const stats = Array.from(mine.stats.dataSync());
    mine.stats.dispose();
    let grads = mine.grads;
    try {
      for (let k = 0; k < this.buffers.length; k++) await this.waitFor(k);
    } catch (e) {
      tf.dispose(grads);
      throw e;
    }
    this.buffers.forEach((b, k) => {
      if (rows[k] === 0) return;
      const out = new Float32Array(b.output);
      const weight = rows[k]! / n;
      let at = 0;
      grads = grads.map((g) => {
        const size = g.size;
        const summed = tf.tidy(() => tf.add(g, tf.mul(tf.tensor(out.subarray(at, at + size), g.shape), weight)));
        at += size;
        g.dispose();
        return summed;
      });
      stats[0]! += out[at]! * weight;
      stats[1]! += out[at + 1]!;
    });
    return { grads: Object.fromEntries(variables.map((v, i) => [v.name, grads[i]!])), loss: stats[0]!, hits: stats[1]! };
  }

  /**
   * Waits (without blocking the event loop, so that a thread's exit is seen) until worker `k`
   * has answered its last request; throws its own error message if it failed or exited.
   */
  private async waitFor(k: number): Promise<void> {
    const b = this.buffers[k]!;
    const ctrl = new Int32Array(b.ctrl);
    const expected = Atomics.load(ctrl, CTRL.request);
    for (;;) {
      if (Atomics.load(ctrl, CTRL.failed)) throw new WorkerError(`data-parallel worker ${k + 1} failed: ${readWorkerError(b)}`, { worker: k + 1 });
      const done = Atomics.load(ctrl, CTRL.done);
      if (done === expected) return;
      if (this.failure) throw this.failure;
      const wait = Atomics.waitAsync(ctrl, CTRL.done, done);
      if (wait.async) await Promise.race([wait.value, this.exits[k]!]);
    }
  }

  /** Every worker's backend memory after its last step (see {@link backendMemory}). */
  workerMemory(): BackendMemory[] {
    return this.buffers.map((b) => {
      const [tensors, bytes, heap] = new Float64Array(b.memory);
      return { tensors: tensors!, bytes: bytes!, heapBytes: heap! < 0 ? null : heap! };
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    for (const b of this.buffers) {
      const ctrl = new Int32Array(b.ctrl);
      Atomics.store(ctrl, CTRL.request, STOP);
      Atomics.notify(ctrl, CTRL.request);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * One optimisation step on a batch — on the main thread alone, or with `parallel` — returning the
 * loss and the number of correct predictions (one read from the device). With `step` (≥ 0), the
 * random streams of every copy of the model are first sought to that step, so that the step's
 * noise depends on (seed, step) only and a resumed run repeats the uninterrupted one exactly.
 */
export async function trainStep(model: tfl.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor, parallel: DataParallel | null, step = -1): Promise<StepResult> {
  if (step >= 0) seekRandomStreams(model, step);
  if (parallel) {
    const { grads, loss, hits } = await parallel.gradients(model, x, y, step);
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    return { loss, hits };
  }
  return tf.tidy(() => {
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads, loss, hits } = shardGradients(model, variables, x, y);
    optimizer.applyGradients(Object.fromEntries(variables.map((v, i) => [v.name, grads[i]!])));
    const [l, h] = Array.from(tf.stack([loss, hits]).dataSync());
    return { loss: l!, hits: h! };
  });
}
