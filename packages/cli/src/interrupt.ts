import { EXIT } from './errors';

/**
 * Runs `work` with Ctrl-C turned into a stop request: the first SIGINT sets the flag that
 * `shouldStop()` reads (the work saves and returns), a second one exits at once with 130.
 */
export async function withInterrupt<T>(work: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(EXIT.interrupted);
    stop = true;
    process.stderr.write('\nsrq: interrupted; saving a checkpoint (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(() => stop);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
