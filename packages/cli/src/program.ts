import '@tensorflow/tfjs-layers'; // the op gradients and the layers API
import '@srq/models'; // registers the quantized layers for loading saved models
import { Command } from 'commander';
import { benchCommand } from './commands/bench';
import { compareCommand } from './commands/compare';
import { doctorCommand } from './commands/doctor';
import { evalCommand } from './commands/eval';
import { exportCommand } from './commands/export';
import { trainCommand } from './commands/train';
import { handleError } from './errors';

declare const __SRQ_CLI_VERSION__: string;

/** The version of @srq/cli (from its package.json, set at build time). */
export const VERSION: string = typeof __SRQ_CLI_VERSION__ === 'string' ? __SRQ_CLI_VERSION__ : '0.0.0-dev';

/** The `srq` program (commander). */
export function program(): Command {
  const root = new Command('srq')
    .description('low-bit neural network training with Semi-Relaxed Quantization and DropBits on TensorFlow.js')
    .version(VERSION, '-V, --version', 'print the version of @srq/cli')
    .option('--debug', 'print stack traces with errors')
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => undefined })
    .exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      handleError(err);
    });
  for (const cmd of [trainCommand(), evalCommand(), exportCommand(), benchCommand(), compareCommand(), doctorCommand()]) {
    cmd.configureOutput({ outputError: () => undefined }).exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
      handleError(err);
    });
    root.addCommand(cmd);
  }
  return root;
}
