import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The directory for converted datasets: `SRQ_CACHE_DIR`, else `$XDG_CACHE_HOME/srq`, else
 * `~/.cache/srq`.
 */
export function defaultCacheDir(): string {
  if (process.env.SRQ_CACHE_DIR) return process.env.SRQ_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'srq');
}

/** Writes `data` to `file` atomically: a temporary file beside it, then a rename. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
