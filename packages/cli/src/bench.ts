import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPacked, loadPackedModel, ZOO, type ModelQuantConfig, type ZooName } from '@srq/models';

/** One configuration timed by {@link benchTraining}. */
interface BenchConfig {
  key: string;
  /** Builds the model; `stock` runs it with the backend's own conv backward kernels. */
  build: () => tfl.LayersModel;
  stock?: boolean;
}

/** Options of {@link benchTraining}. */
export interface BenchOptions {
  model: ZooName;
  batchSize: number;
  steps: number;
  warmup: number;
  reps: number;
  inputShape: [number, number, number];
}

/**
 * Plain tfjs-layers LeNet-5 (no srq code at all): the baseline that stock tfjs trains, given
 * only a Conv2DBackpropFilter kernel where the backend lacks one.
 */
export function stockLenet5(inputShape: [number, number, number]): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape, filters: 32, kernelSize: 5, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 5, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
}

/** Runs `fn` with the backend's own Conv2DBackpropInput (the stock kernel our wasm kernel replaces). */
function withStockKernels<T>(stock: Map<string, tf.KernelConfig>, fn: () => T): T {
  const backend = tf.getBackend();
  const swapped: tf.KernelConfig[] = [];
  for (const [name, config] of stock) {
    const ours = tf.getKernel(name, backend);
    if (!ours || config.backendName !== backend) continue;
    tf.unregisterKernel(name, backend);
    tf.registerKernel(config);
    swapped.push(ours);
  }
  try {
    return fn();
  } finally {
    for (const ours of swapped) {
      tf.unregisterKernel(ours.kernelName, backend);
      tf.registerKernel(ours);
    }
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Training throughput of several model configurations, measured in one process and interleaved
 * (rep 1 of every config, then rep 2, …) so that machine noise hits all alike; the median of the
 * repetitions per config, in images per second.
 *
 * @param stockKernels - the backend's own kernels our package replaced (for the baseline)
 */
export function benchTraining(options: BenchOptions, stockKernels: Map<string, tf.KernelConfig>): Record<string, number> {
  const { model, batchSize, steps, warmup, reps, inputShape } = options;
  const zoo = (q: ModelQuantConfig) => () => ZOO[model](q, { inputShape, numClasses: 10 });
  const configs: BenchConfig[] = [
    ...(model === 'lenet5' ? [{ key: 'baseline_ips', build: () => stockLenet5(inputShape), stock: true }] : []),
    { key: 'float_ips', build: zoo({ method: 'fp' }) },
    { key: 'srq2_ips', build: zoo({ method: 'srq', weightBits: 2, activationBits: 2 }) },
    { key: 'srq_db2_ips', build: zoo({ method: 'srq', weightBits: 2, activationBits: 2, dropBits: { p: 0.05 } }) },
    { key: 'srq_db4_ips', build: zoo({ method: 'srq', weightBits: 4, activationBits: 4, dropBits: { p: 0.05 } }) },
    { key: 'srq_db8_ips', build: zoo({ method: 'srq', weightBits: 8, activationBits: 8, dropBits: { p: 0.05 } }) },
  ];
  const x = tf.randomNormal([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 2), 10);
  const runs = configs.map((c) => {
    const m = c.build();
    const opt = tf.train.adam(1e-3);
    const step = () =>
      tf.tidy(() => {
        opt.minimize(() => {
          const ce = tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor);
          const penalties = m.calculateLosses();
          return (penalties.length ? tf.addN([ce, ...penalties]) : ce) as tf.Scalar;
        });
      });
    const timed = (n: number) => {
      const run = () => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) step();
        tf.tidy(() => (m.apply(x) as tf.Tensor).dataSync()); // wait for the device
        return (performance.now() - t0) / 1000;
      };
      return c.stock ? withStockKernels(stockKernels, run) : run();
    };
    timed(warmup);
    return { key: c.key, timed, ips: [] as number[] };
  });
  for (let r = 0; r < reps; r++) for (const run of runs) run.ips.push((steps * batchSize) / run.timed(steps));
  tf.dispose([x, y]);
  return Object.fromEntries(runs.map((r) => [r.key, Math.round(median(r.ips) * 10) / 10]));
}

/**
 * Size and inference throughput of a float model against the packed export of the same model
 * quantized at `bits` (SRQ, weights and activations), loaded back with {@link loadPackedModel};
 * interleaved repetitions, medians.
 */
export async function benchInference(options: BenchOptions & { bits: number }): Promise<Record<string, number>> {
  const { model, batchSize, steps, warmup, reps, inputShape, bits } = options;
  const x = tf.randomNormal([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const float = ZOO[model]({ method: 'fp' }, { inputShape, numClasses: 10 });
  const quantized = ZOO[model]({ method: 'srq', weightBits: bits, activationBits: bits }, { inputShape, numClasses: 10 });
  tf.tidy(() => quantized.predict(x)); // initialises the quantizers
  const dir = mkdtempSync(join(tmpdir(), 'srq-bench-'));
  const { packedBytes, floatBytes } = await exportPacked(quantized, dir);
  const packed = await loadPackedModel(dir);
  rmSync(dir, { recursive: true, force: true });
  const runs = [
    { key: 'float_infer_ips', model: float, ips: [] as number[] },
    { key: 'packed_infer_ips', model: packed, ips: [] as number[] },
  ];
  const timed = (m: tfl.LayersModel, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync());
    return (performance.now() - t0) / 1000;
  };
  for (const r of runs) timed(r.model, warmup);
  for (let rep = 0; rep < reps; rep++) for (const r of runs) r.ips.push((steps * batchSize) / timed(r.model, steps));
  x.dispose();
  return {
    float_bytes: floatBytes,
    packed_bytes: packedBytes,
    size_ratio: +(floatBytes / packedBytes).toFixed(2),
    ...Object.fromEntries(runs.map((r) => [r.key, Math.round(median(r.ips) * 10) / 10])),
  };
}
