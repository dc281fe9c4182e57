import * as tfl from '@tensorflow/tfjs-layers';
import { Command } from 'commander';
import { join } from 'node:path';
import { useBackend } from '@srq/backends';
import { exportPacked, fileSystem } from '@srq/models';
import { handleError } from '../errors';
import { RunDir } from '../run-dir';

/** `srq export`. */
export function exportCommand(): Command {
  return new Command('export')
    .description('write a trained run as model.json + bit-packed weights (each quantized kernel at its learned bits)')
    .requiredOption('--model-dir <dir>', 'run directory (from srq train --out)')
    .requiredOption('--out <dir>', 'directory for the exported model')
    .option('--json', 'print sizes as one JSON line', false)
    .action(async (flags: { modelDir: string; out: string; json: boolean }) => {
      try {
        new RunDir(flags.modelDir).readConfig(); // a run directory, or a one-line error
        await useBackend('wasm');
        const model = await tfl.loadLayersModel(fileSystem(join(flags.modelDir, 'model')));
        const { packedBytes, floatBytes } = await exportPacked(model, flags.out);
        const result = { out: flags.out, packed_bytes: packedBytes, float_bytes: floatBytes, size_ratio: +(floatBytes / packedBytes).toFixed(2) };
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `exported to ${flags.out}: ${packedBytes} bytes of weights (float32: ${floatBytes}, ${result.size_ratio}× smaller)\n`);
      } catch (e) {
        handleError(e);
      }
    });
}
