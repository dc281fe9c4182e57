import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SRQ_DROPBITS } from './compare';
import { DataParallel, trainStep } from './data-parallel';
import { median } from './stats';
import { SRQ_FUSED_KERNEL } from '@srq/quantizers';
import { backendMemory, enableSrqWasm, srqWasmEnabled, STOCK_KERNELS } from '@srq/backends';
import { exportPacked, integerKernelAvailable, loadPackedModel, toOnnx, ZOO, type ModelQuantConfig, type ZooName } from '@srq/models';

/** What a timed configuration changes while it runs (our optimisations, for the ablation). */
export interface BenchSetting {
  /** Run on the backend's own kernels where ours replaced them. */
  stockKernels?: boolean;
  /** The fused srq kernel: off (tfjs op composition), the JavaScript loop, or WebAssembly SIMD (default). */
  fused?: 'off' | 'javascript' | 'wasm-simd';
  /** Use the data-parallel workers (default true). */
  workers?: boolean;
}

/** One configuration timed by {@link benchTraining}. */
interface BenchConfig {
  key: string;
  build: () => tfl.LayersModel;
  /** The zoo quantization, when data-parallel workers can rebuild the model. */
  quant?: ModelQuantConfig;
  /** The baseline: plain `optimizer.minimize` of the cross-entropy on stock kernels, one thread. */
  stock?: boolean;
  setting?: BenchSetting;
}

/** Options of {@link benchTraining}. */
export interface BenchOptions {
  model: ZooName;
  batchSize: number;
  steps: number;
  warmup: number;
  reps: number;
  inputShape: [number, number, number];
  /** Data-parallel worker threads for our models (the baseline runs on the main thread alone). */
  workers: number;
  backend: 'wasm' | 'cpu';
  /** Instead of the standard set, srq + DropBits 2/2 with our optimisations added one at a time. */
  ablation?: boolean;
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

/** Runs `fn` with the kernels and fused-quantizer build `setting` asks for, restoring ours after. */
async function withSetting<T>(setting: BenchSetting, fn: () => Promise<T> | T): Promise<T> {
  const backend = tf.getBackend();
  const swapped: tf.KernelConfig[] = [];
  const swap = (name: string, replacement: tf.KernelConfig | null) => {
    const ours = tf.getKernel(name, backend);
    if (!ours) return;
    tf.unregisterKernel(name, backend);
    if (replacement) tf.registerKernel(replacement);
    swapped.push(ours);
  };
  if (setting.stockKernels) for (const [name, config] of STOCK_KERNELS) if (config.backendName === backend) swap(name, config);
  if (setting.fused === 'off') swap(SRQ_FUSED_KERNEL, null);
  const wasmBefore = srqWasmEnabled();
  if (setting.fused === 'javascript') enableSrqWasm(false);
  try {
    return await fn();
  } finally {
    enableSrqWasm(wasmBefore);
    for (const ours of swapped) {
      if (tf.getKernel(ours.kernelName, backend)) tf.unregisterKernel(ours.kernelName, backend);
      tf.registerKernel(ours);
    }
  }
}


/**
 * Training throughput of several model configurations, measured in one process and interleaved
 * (rep 1 of every config, then rep 2, …) so that machine noise hits all alike; the median of the
 * repetitions per config, in images per second.

 */
export async function benchTraining(options: BenchOptions): Promise<Record<string, number>> {
  const { model, batchSize, steps, warmup, reps, inputShape, workers, backend } = options;
  const zoo = (quant: ModelQuantConfig): BenchConfig => ({ key: '', quant, build: () => ZOO[model](quant, { inputShape, numClasses: 10 }) });
  const db2 = zoo({ method: 'srq', weightBits: 2, activationBits: 2, dropBits: SRQ_DROPBITS });
  const single = { workers: false };
  const configs: BenchConfig[] = options.ablation
    ? [
        { ...db2, key: 'ablation_ops_ips', setting: { ...single, stockKernels: true, fused: 'off' } },
        { ...db2, key: 'ablation_fused_js_ips', setting: { ...single, stockKernels: true, fused: 'javascript' } },
        { ...db2, key: 'ablation_fused_wasm_ips', setting: { ...single, stockKernels: true } },
        { ...db2, key: 'ablation_kernels_ips', setting: single },
        { ...db2, key: 'ablation_workers_ips' },
      ]
    : [
        ...(model === 'lenet5' ? [{ key: 'baseline_ips', build: () => stockLenet5(inputShape), stock: true, setting: { ...single, stockKernels: true } }] : []),
        { ...zoo({ method: 'fp' }), key: 'float_ips' },
        { ...zoo({ method: 'srq', weightBits: 2, activationBits: 2 }), key: 'srq2_ips' },
        { ...db2, key: 'srq_db2_ips' },
        { ...zoo({ method: 'srq', weightBits: 4, activationBits: 4, dropBits: SRQ_DROPBITS }), key: 'srq_db4_ips' },
        { ...zoo({ method: 'srq', weightBits: 8, activationBits: 8, dropBits: SRQ_DROPBITS }), key: 'srq_db8_ips' },
        { ...zoo({ method: 'rq', weightBits: 2, activationBits: 2, sigmaInit: 0.1 }), key: 'rq2_ips' },
      ];
  const x = tf.randomNormal([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 2), 10);
  const runs = [];
  try {
    for (const c of configs) {
      const m = c.build();
      const opt = tf.train.adam(1e-3);
      const setting = c.setting ?? {};
      await withSetting(setting, () => trainStep(m, opt, x, y, null)); // initialises the quantizers
      const useWorkers = c.quant && workers > 0 && setting.workers !== false;
      const parallel = useWorkers ? await DataParallel.start({ model, quant: c.quant!, inputShape, numClasses: 10, backend }, workers, m, batchSize) : null;
      const step = c.stock
        ? async () => tf.tidy(() => void opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar))
        : async () => void (await trainStep(m, opt, x, y, parallel));
      const timed = (n: number) =>
        withSetting(setting, async () => {
          const t0 = performance.now();
          for (let i = 0; i < n; i++) await step();
          tf.tidy(() => (m.apply(x) as tf.Tensor).dataSync()); // wait for the device
          return (performance.now() - t0) / 1000;
        });
      runs.push({ key: c.key, timed, parallel, ips: [] as number[] });
      await timed(warmup);
    }
    for (let r = 0; r < reps; r++) for (const run of runs) run.ips.push((steps * batchSize) / (await run.timed(steps)));
  } finally {
    await Promise.all(runs.map((r) => r.parallel?.close()));
    tf.dispose([x, y]);
  }
  return Object.fromEntries(runs.map((r) => [r.key, Math.round(median(r.ips) * 10) / 10]));
}

/** What `tf.profile` returns. */
type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

/**
 * Where a training step's time goes: `steps` steps of SRQ + DropBits 2/2 (`srq compare`'s
 * srq+dropbits: the default training's kernels plus the DropBits draws) on the main thread (no
 * workers, so every kernel is seen), each under `tf.profile`; the time per step of each kernel
 * (summed over its calls, with its share of the kernels' total), and the step's wall time. A
 * kernel's time is measured around its call on the main thread, as tfjs profiles.
 */
export async function benchProfile(options: BenchOptions): Promise<Record<string, unknown>> {
  const { model, batchSize, steps, warmup, inputShape } = options;
  const m = ZOO[model]({ method: 'srq', weightBits: 2, activationBits: 2, dropBits: SRQ_DROPBITS }, { inputShape, numClasses: 10 });
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 2), 10);
  for (let i = 0; i < Math.max(1, warmup); i++) await trainStep(m, opt, x, y, null);
  const infos: ProfileInfo[] = [];
  let wall = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    infos.push(await tf.profile(async () => void (await trainStep(m, opt, x, y, null))));
    wall += performance.now() - t0;
  }
  tf.dispose([x, y]);
  const rows = await kernelTimes(infos, steps);
  const kernelsMs = rows.reduce((a, k) => a + k.ms_per_step, 0);
  return { profiled_steps: steps, batch_size: batchSize, step_ms: +(wall / steps).toFixed(2), kernels_ms_per_step: +kernelsMs.toFixed(2), kernels: rows };
}

/**
 * Time per kernel over `runs` profiled runs (`tf.profile`), averaged per run, with calls per run
 * and the share of all kernels' time; largest first. Kernels only: scopes (custom gradients,
 * fused ops) wrap kernels already counted.
 */
async function kernelTimes(infos: ProfileInfo | ProfileInfo[], runs: number): Promise<Array<{ kernel: string; ms_per_step: number; calls_per_step: number; share: number }>> {
  const total = new Map<string, { ms: number; calls: number }>();
  for (const info of [infos].flat()) {
    for (const k of info.kernels.filter((k) => k.name !== 'unnamed scope' && !k.name.endsWith('__op'))) {
      const time = await k.kernelTimeMs;
      const entry = total.get(k.name) ?? { ms: 0, calls: 0 };
      entry.ms += typeof time === 'number' ? time : 0;
      entry.calls += 1;
      total.set(k.name, entry);
    }
  }
  const all = [...total.values()].reduce((a, k) => a + k.ms, 0);
  return [...total].sort((a, b) => b[1].ms - a[1].ms).map(([kernel, k]) => ({ kernel, ms_per_step: +(k.ms / runs).toFixed(3), calls_per_step: +(k.calls / runs).toFixed(1), share: +(k.ms / all).toFixed(3) }));
}

/** Bit-widths of the packed models in the inference table of {@link benchInference}. */
export const INFERENCE_BITS = [1, 2, 4, 8] as const;
/** Batch sizes of {@link benchInference}. */
export const INFERENCE_BATCHES = [1, 64] as const;

/**
 * Size, resident weights and inference throughput of a float model against packed exports of the
 * same model quantized (SRQ, weights and activations) at 1, 2, 4 and 8 bits, loaded back with
 * {@link loadPackedModel} — on integers where the backend has the integer kernel. Batch 1 and 64;
 * every model and batch size interleaved in each repetition, medians. `resident` is what the
 * weights take in the backend's memory once loaded. `bits` picks the headline packed model.
 */
export async function benchInference(options: BenchOptions & { bits: number }): Promise<Record<string, unknown>> {
  const { model, steps, warmup, reps, inputShape, bits } = options;
  const inputs = INFERENCE_BATCHES.map((b) => tf.randomNormal([b, ...inputShape], 0, 1, 'float32', 1));
  const resident = async <T>(load: () => Promise<T> | T): Promise<[T, number]> => {
    const before = tf.memory().numBytes;
    const loaded = await load();
    return [loaded, tf.memory().numBytes - before];
  };
  const [float, floatResident] = await resident(() => ZOO[model]({ method: 'fp' }, { inputShape, numClasses: 10 }));
  const dir = mkdtempSync(join(tmpdir(), 'srq-bench-'));
  const packed: Array<{ bits: number; model: tfl.LayersModel; bytes: number; floatBytes: number; resident: number }> = [];
  let onnxBytes: Uint8Array | null = null;
  try {
    for (const b of [...new Set([...INFERENCE_BITS, bits])].sort((x, y) => x - y)) {
      const quantized = ZOO[model]({ method: 'srq', weightBits: b, activationBits: b }, { inputShape, numClasses: 10 });
      tf.tidy(() => quantized.predict(inputs[1]!)); // initialises the quantizers
      const { packedBytes, floatBytes } = await exportPacked(quantized, join(dir, `${b}`));
      if (b === bits) onnxBytes = toOnnx(quantized);
      quantized.dispose();
      const [loaded, bytes] = await resident(() => loadPackedModel(join(dir, `${b}`)));
      packed.push({ bits: b, model: loaded, bytes: packedBytes, floatBytes, resident: bytes });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const timed = (m: tfl.LayersModel, x: tf.Tensor, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) tf.tidy(() => (m.predict(x, { batchSize: x.shape[0]! }) as tf.Tensor).dataSync()); // one batch of that size
    return (performance.now() - t0) / 1000;
  };
  // a batch-1 timing makes as many calls as a batch-64 one makes images / 4, so both take comparable time
  const calls = (batch: number) => (batch === 1 ? steps * 16 : steps);
  type Timed = (x: tf.Tensor, n: number) => Promise<number> | number;
  const models: Array<{ key: string; timed: Timed }> = [{ key: 'float', model: float }, ...packed.map((p) => ({ key: `packed${p.bits}`, model: p.model }))].map((m) => ({ key: m.key, timed: (x, n) => timed(m.model, x, n) }));
  // the headline model in ONNX Runtime Web (an optional peer dependency): its default session (Q/DQ
  // convolutions and Gemms on its integer kernels) and the exact one (the QDQ graph's float arithmetic)
  const onnx = await onnxSessions(onnxBytes!);
  models.push(...onnx.timers);
  const ips = new Map<string, number[]>();
  for (const m of models) for (const [i, b] of INFERENCE_BATCHES.entries()) await m.timed(inputs[i]!, warmup * (b === 1 ? 16 : 1));
  for (let rep = 0; rep < reps; rep++) {
    for (const m of models) {
      for (const [i, b] of INFERENCE_BATCHES.entries()) {
        const key = `${m.key}_b${b}`;
        ips.set(key, [...(ips.get(key) ?? []), (calls(b) * b) / (await m.timed(inputs[i]!, calls(b)))]);
      }
    }
  }
  await onnx.release();
  const ipsOf = (key: string) => Math.round(median(ips.get(key)!) * 10) / 10;
  const head = packed.find((p) => p.bits === bits)!;
  const profile = async (m: tfl.LayersModel) => kernelTimes(await tf.profile(() => tf.tidy(() => void (m.predict(inputs[1]!, { batchSize: 64 }) as tf.Tensor).dataSync())), 1);
  const profiles = { float: await profile(float), packed: await profile(head.model) };
  tf.dispose(inputs);
  return {
    integer: integerKernelAvailable(),
    float_bytes: head.floatBytes,
    packed_bytes: head.bytes,
    size_ratio: +(head.floatBytes / head.bytes).toFixed(2),
    float_resident_bytes: floatResident,
    packed_resident_bytes: head.resident,
    resident_ratio: +(floatResident / head.resident).toFixed(2),
    ...Object.fromEntries(INFERENCE_BATCHES.flatMap((b) => [
      [`float_infer_ips_b${b}`, ipsOf(`float_b${b}`)],
      [`packed_infer_ips_b${b}`, ipsOf(`packed${bits}_b${b}`)],
      [`speedup_b${b}`, +(ipsOf(`packed${bits}_b${b}`) / ipsOf(`float_b${b}`)).toFixed(2)],
      [`onnx_infer_ips_b${b}`, ips.has(`onnx_b${b}`) ? ipsOf(`onnx_b${b}`) : null],
      [`onnx_exact_infer_ips_b${b}`, ips.has(`onnx_exact_b${b}`) ? ipsOf(`onnx_exact_b${b}`) : null],
    ])),
    onnx_bytes: onnxBytes!.byteLength,
    ...(onnx.note ? { onnx_note: onnx.note } : {}),
    by_bits: Object.fromEntries(packed.map((p) => [`${p.bits}`, { packed_bytes: p.bytes, resident_bytes: p.resident, ...Object.fromEntries(INFERENCE_BATCHES.map((b) => [`ips_b${b}`, ipsOf(`packed${p.bits}_b${b}`)])) }])),
    // where one batch-64 prediction spends its time, per kernel (tf.profile, one call each)
    float_profile_b64: profiles.float,
    packed_profile_b64: profiles.packed,
  };
}

/**
 * Timers of an ONNX model in ONNX Runtime Web (one thread, as our wasm backend in Node): `onnx`
 * is its default session, `onnx_exact` the one with `disable_quant_qdq` (no integer kernels).
 * Without the optional `onnxruntime-web` package: no timers and a note.
 */
async function onnxSessions(bytes: Uint8Array): Promise<{ timers: Array<{ key: string; timed: (x: tf.Tensor, n: number) => Promise<number> }>; release: () => Promise<void>; note?: string }> {
  let ort: typeof import('onnxruntime-web');
  try {
    ort = await import('onnxruntime-web');
  } catch {
    return { timers: [], release: async () => undefined, note: 'onnxruntime-web is not installed: npm install onnxruntime-web to measure ONNX Runtime' };
  }
  ort.env.wasm.numThreads = 1;
  const sessions = [
    { key: 'onnx', session: await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }) },
    { key: 'onnx_exact', session: await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], extra: { session: { disable_quant_qdq: '1' } } }) },
  ];
  const timers = sessions.map(({ key, session }) => ({
    key,
    timed: async (x: tf.Tensor, n: number) => {
      const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) };
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await session.run(feeds);
      return (performance.now() - t0) / 1000;
    },
  }));
  return { timers, release: async () => void (await Promise.all(sessions.map((s) => s.session.release()))) };
}

/** Least-squares slope of `ys` over `xs`. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

/**
 * Memory over a long data-parallel training run (srq + DropBits 2/2 as `srq compare`'s
 * srq+dropbits: the default training's state plus the DropBits streams): trains for `seconds` on a
 * fixed random batch and samples, every few steps, the process's resident memory and the tensors,
 * tensor bytes and WebAssembly heap of the main thread and every worker.
 * Reports the growth per step over the second half of the run (after warm-up): a leak shows as a
 * positive slope (the leak fixed in 0.2 was one copy of the weights, ≈ 2.3 MB, per step).
 */
export async function benchSoak(options: BenchOptions & { seconds: number }): Promise<Record<string, number>> {
  const { model, batchSize, inputShape, workers, backend, seconds } = options;
  const quant: ModelQuantConfig = { method: 'srq', weightBits: 2, activationBits: 2, dropBits: SRQ_DROPBITS };
  const m = ZOO[model](quant, { inputShape, numClasses: 10 });
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 2), 10);
  await trainStep(m, opt, x, y, null, 0); // initialises the quantizers
  const parallel = workers > 0 ? await DataParallel.start({ model, quant, inputShape, numClasses: 10, backend }, workers, m, batchSize) : null;
  const samples: Array<{ step: number; rss: number; tensors: number; bytes: number; heap: number; workerTensors: number; workerBytes: number; workerHeap: number }> = [];
  const t0 = performance.now();
  let step = 1;
  try {
    while ((performance.now() - t0) / 1000 < seconds) {
      await trainStep(m, opt, x, y, parallel, step);
      if (step % 5 === 0) {
        const main = backendMemory();
        const ws = parallel?.workerMemory() ?? [];
        samples.push({
          step,
          rss: process.memoryUsage().rss,
          tensors: main.tensors,
          bytes: main.bytes,
          heap: main.heapBytes ?? 0,
          workerTensors: ws.reduce((a, w) => a + w.tensors, 0),
          workerBytes: ws.reduce((a, w) => a + w.bytes, 0),
          workerHeap: ws.reduce((a, w) => a + (w.heapBytes ?? 0), 0),
        });
      }
      step++;
    }
  } finally {
    await parallel?.close();
    tf.dispose([x, y]);
    opt.dispose();
  }
  const late = samples.slice(Math.floor(samples.length / 2));
  const per = (k: keyof (typeof samples)[0]) => +slope(late.map((s) => s.step), late.map((s) => s[k])).toFixed(1);
  const last = samples.at(-1)!;
  return {
    soak_seconds: +((performance.now() - t0) / 1000).toFixed(1),
    soak_steps: step - 1,
    rss_mb_end: Math.round(last.rss / 2 ** 20),
    rss_bytes_per_step: per('rss'),
    tensors_end: last.tensors,
    tensors_per_step: per('tensors'),
    tensor_bytes_per_step: per('bytes'),
    wasm_heap_bytes_per_step: per('heap'),
    worker_tensors_end: last.workerTensors,
    worker_tensors_per_step: per('workerTensors'),
    worker_tensor_bytes_per_step: per('workerBytes'),
    worker_wasm_heap_bytes_per_step: per('workerHeap'),
  };
}
