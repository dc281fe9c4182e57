import * as tfl from '@tensorflow/tfjs-layers';
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { BACKEND_NAMES, useBackend, type BackendName } from '@srq/backends';
import { imageSize, loadDataset, subset } from '@srq/datasets';
import { fileSystem, modelReport } from '@srq/models';
import { evaluate } from '../evaluate';
import { handleError } from '../errors';
import { int } from '../options';
import type { RunConfig } from '../run-config';
import { RunDir } from '../run-dir';
import { quantizerStates } from '../quantizer-state';

/** One learned value, or the range of a per-channel one. */
function span(values: number[]): string {
  const fmt = (v: number) => v.toPrecision(3);
  if (values.length === 1) return fmt(values[0]!);
  return `${fmt(Math.min(...values))}–${fmt(Math.max(...values))} (${values.length} channels)`;
}

/** `srq eval`. */
export function evalCommand(): Command {
  return new Command('eval')
    .description('test error of a trained run with inference-mode rounding, and each quantizer\'s learned bits, step α and σ/α')
    .requiredOption('--model-dir <dir>', 'run directory (from srq train --out)')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--limit <n>', 'evaluate a fixed random subset of N test images', int(1))
    .option('--json', 'print the result as one JSON line on stdout', false)
    .action(async (flags: { modelDir: string; backend: BackendName; limit?: number; json: boolean }) => {
      try {
        const dir = new RunDir(flags.modelDir);
        const run = dir.readConfig<RunConfig>();
        const dataset = loadDataset(run.dataset, { ...(run.dataDir ? { dataDir: run.dataDir } : {}), ...(run.cacheDir ? { cacheDir: run.cacheDir } : {}), seed: run.seed });
        await useBackend(flags.backend);
        const model = await tfl.loadLayersModel(fileSystem(join(flags.modelDir, 'model')));
        const split = flags.limit ? subset(dataset.test, flags.limit, imageSize(dataset)) : dataset.test;
        const { error, loss } = evaluate(model, dataset, split);
        const report = modelReport(model);
        const quantizers = quantizerStates(report);
        const result = { test_error: error, test_loss: loss, images: split.count, bits: report.bits, model_bytes: report.modelBytes, quantizers };
        if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(`test error ${error.toFixed(2)}% on ${split.count} images (loss ${loss.toFixed(4)}), model ${report.modelBytes} bytes\n`);
          for (const q of quantizers) {
            const sigma = q.sigma_ratio ? `, σ/α ${span(q.sigma_ratio)}` : '';
            process.stdout.write(`  ${q.tensor}: ${q.bits} bits, α ${span(q.alpha)}${sigma}\n`);
          }
        }
      } catch (e) {
        handleError(e);
      }
    });
}
