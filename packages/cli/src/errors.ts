import { SrqError } from '@srq/quantizers';

/** A bad flag or flag value: printed as one line, exit code 2. */
export class UsageError extends SrqError {
  constructor(message: string, fields: Record<string, unknown> = {}) {
    super('USAGE', message, fields);
  }
}

/** A data-parallel worker thread failed or exited: its own message, and which worker. */
export class WorkerError extends SrqError {
  constructor(message: string, fields: { worker: number }) {
    super('WORKER', message, fields);
  }
}

/** A file of a run directory (run.json, a checkpoint) is missing, malformed or damaged; names the file. */
export class RunFileError extends SrqError {
  constructor(message: string, file: string) {
    super('RUN_FILE', message, { file });
  }
}

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, runtime: 1, usage: 2, interrupted: 130 } as const;

/**
 * Prints an error as one line on stderr and exits: 2 for usage errors (bad flags, bad values,
 * a config the library rejects), 1 for runtime failures. The stack trace only with `--debug`.
 */
export function handleError(error: unknown, debug = process.argv.includes('--debug')): never {
  const e = error as Error & { code?: string };
  const usage = e instanceof UsageError || (SrqError.isInstance(e) && /CONFIG$|^USAGE$/.test(e.code)) || e?.code?.startsWith?.('commander.');
  const message = (e?.message ?? String(error)).split('\n')[0]!.replace(/^error: /, '');
  process.stderr.write(`srq: ${message}\n`);
  if (debug && e?.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(usage ? EXIT.usage : EXIT.runtime);
}
