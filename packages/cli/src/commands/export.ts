import * as tfl from '@tensorflow/tfjs-layers';
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '@srq/backends';
import { exportOnnx, exportPacked, fileSystem, loadPackedModel, modelReport } from '@srq/models';
import { handleError, UsageError } from '../errors';
import { RunDir } from '../run-dir';

/**
 * The model to export: a run directory's trained model (from `srq train --out`), or a packed
 * export (a directory with `model.json` and no `run.json`) loaded with its float graph.
 */
async function modelFrom(dir: string): Promise<tfl.LayersModel> {
  if (!existsSync(join(dir, 'run.json')) && existsSync(join(dir, 'model.json'))) return loadPackedModel(dir, { integer: false });
  new RunDir(dir).readConfig(); // a run directory, or a one-line error
  return tfl.loadLayersModel(fileSystem(join(dir, 'model')));
}

/** `srq export`. */
export function exportCommand(): Command {
  return new Command('export')
    .description('write a trained model as model.json + bit-packed weights (each quantized kernel at its learned bits), or as an ONNX model in the QDQ form')
    .requiredOption('--model-dir <dir>', 'run directory (from srq train --out), or a packed export to convert')
    .requiredOption('--out <path>', 'directory for the packed model; for ONNX the .onnx file (or a directory: <dir>/model.onnx)')
    .addOption(new Option('--format <format>', 'packed: tfjs layers model with bit-packed weights; onnx: ONNX (opset 13, QDQ) for ONNX Runtime').choices(['packed', 'onnx']).default('packed'))
    .option('--json', 'print sizes as one JSON line', false)
    .action(async (flags: { modelDir: string; out: string; format: 'packed' | 'onnx'; json: boolean }) => {
      try {
        if (!existsSync(flags.modelDir)) throw new UsageError(`${flags.modelDir} does not exist.`, { modelDir: flags.modelDir });
        await useBackend('wasm');
        const model = await modelFrom(flags.modelDir);
        let result: Record<string, unknown>;
        if (flags.format === 'onnx') {
          const file = flags.out.endsWith('.onnx') ? flags.out : join(flags.out, 'model.onnx');
          const { bytes } = exportOnnx(model, file);
          const floatBytes = modelReport(model).floatBytes;
          result = { out: file, format: 'onnx', bytes, float_bytes: floatBytes, size_ratio: +(floatBytes / bytes).toFixed(2) };
        } else {
          const { packedBytes, floatBytes } = await exportPacked(model, flags.out);
          result = { out: flags.out, format: 'packed', packed_bytes: packedBytes, float_bytes: floatBytes, size_ratio: +(floatBytes / packedBytes).toFixed(2) };
        }
        const bytes = (result.bytes ?? result.packed_bytes) as number;
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `exported to ${result.out as string} (${flags.format}): ${bytes} bytes (float32 weights: ${result.float_bytes as number}, ${result.size_ratio as number}× smaller)\n`);
      } catch (e) {
        handleError(e);
      }
    });
}
