import { Command, Option } from 'commander';
import { BACKEND_NAMES, useBackend, type BackendName } from '@srq/backends';
import { ZOO, type ZooName } from '@srq/models';
import { benchInference, benchProfile, benchSoak, benchTraining } from '../bench';
import { handleError, UsageError } from '../errors';
import { int } from '../options';
import { defaultWorkers } from '../data-parallel';

/** `srq bench`. */
export function benchCommand(): Command {
  return new Command('bench')
    .description('training throughput (images/s) of float and SRQ (+ DropBits) models, measured side by side in one process')
    .addOption(new Option('--model <name>', 'zoo model').choices(Object.keys(ZOO)).default('lenet5'))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--batch-size <n>', 'batch size (default 64 for lenet5, 32 otherwise)', int(1))
    .option('--steps <n>', 'timed training steps per repetition', int(1), 5)
    .option('--warmup <n>', 'untimed steps first', int(0), 2)
    .option('--reps <n>', 'repetitions (the median is reported)', int(1), 3)
    .option('--workers <n>', 'data-parallel worker threads for our models (default: CPU cores - 1); the baseline uses the main thread only', int(0))
    .option('--ablation', 'srq + DropBits 2/2 with our optimisations added one at a time (stock kernels and tfjs ops → fused quantizer in JavaScript → in WebAssembly SIMD → our training kernels → data-parallel workers)', false)
    .option('--inference', 'size, resident weights and inference images/s at batch 1 and 64 of float vs packed exports at 1, 2, 4 and 8 bits (on integers where the backend has the kernel); --bits picks the headline one', false)
    .option('--bits <n>', 'bits of the headline packed model of --inference', int(1, 8), 2)
    .option('--soak', 'memory over a long data-parallel training run (srq + DropBits 2/2): growth per step of the resident memory and of the tensors, bytes and WebAssembly heap of every thread', false)
    .option('--seconds <n>', 'how long --soak trains', int(1), 120)
    .option('--profile', 'where a training step of srq + DropBits 2/2 spends its time, per kernel (main thread, no workers; --steps profiled steps)', false)
    .option('--json', 'print one JSON line', false)
    .action(async (flags: { model: ZooName; backend: BackendName; batchSize?: number; steps: number; warmup: number; reps: number; inference: boolean; bits: number; json: boolean; workers?: number; ablation: boolean; soak: boolean; seconds: number; profile: boolean }) => {
      try {
        const info = await useBackend(flags.backend);
        const inputShape: [number, number, number] = flags.model === 'lenet5' ? [28, 28, 1] : [32, 32, 3];
        const batchSize = flags.batchSize ?? (flags.model === 'lenet5' ? 64 : 32);
        const workers = info.backend === 'tensorflow' || flags.inference || flags.profile ? 0 : (flags.workers ?? defaultWorkers());
        const options = { ablation: flags.ablation, model: flags.model, batchSize, steps: flags.steps, warmup: flags.warmup, reps: flags.reps, inputShape, workers, backend: info.backend === 'cpu' ? ('cpu' as const) : ('wasm' as const) };
        if ([flags.inference, flags.ablation, flags.soak, flags.profile].filter(Boolean).length > 1) throw new UsageError('--inference, --ablation, --soak and --profile are separate benchmarks: give one.');
        const ips = flags.soak
          ? await benchSoak({ ...options, seconds: flags.seconds })
          : flags.inference
            ? await benchInference({ ...options, bits: flags.bits })
            : flags.profile
              ? await benchProfile(options)
              : await benchTraining(options);
        const result: Record<string, unknown> = { model: flags.model, ...(flags.inference || flags.profile ? {} : { batch_size: batchSize }), ...ips };
        const n = ips as Record<string, number>;
        if (n.baseline_ips && n.srq_db2_ips) result.speedup_vs_baseline = +(n.srq_db2_ips / n.baseline_ips).toFixed(3);
        if (n.float_ips && n.srq_db2_ips) result.quant_overhead = +(n.float_ips / n.srq_db2_ips).toFixed(3);
        if (flags.ablation) {
          // each optimisation's gain: images/s with it over images/s without it, same run
          const steps = ['ops', 'fused_js', 'fused_wasm', 'kernels', 'workers'].map((k) => n[`ablation_${k}_ips`]!);
          ['fused_js', 'fused_wasm', 'kernels', 'workers'].forEach((k, i) => (result[`gain_${k}`] = +(steps[i + 1]! / steps[i]!).toFixed(3)));
          result.gain_total = +(steps[4]! / steps[0]!).toFixed(3);
        }
        Object.assign(result, { rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20), backend: info.backend, threads: info.threads * (workers + 1), workers, simd: info.simd, fused_quantizer: info.fusedQuantizer });
        if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
      } catch (e) {
        handleError(e);
      }
    });
}
