import { createRequire } from 'node:module';
import { useBackend, type BackendName } from './use-backend';

/** One backend's status in a {@link doctor} report. */
export interface BackendStatus {
  name: BackendName;
  ok: boolean;
  backend?: string;
  simd?: boolean | null;
  threads?: number;
  error?: string;
}

/** What {@link doctor} found. */
export interface DoctorReport {
  node: string;
  platform: string;
  versions: Record<string, string | null>;
  backends: BackendStatus[];
}

function version(pkg: string): string | null {
  try {
    return (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Tries every backend in turn and reports which load, with SIMD and threads, and the versions of
 * Node and of the tfjs packages. Leaves the first backend that loaded (wasm, else cpu) active.
 */
export async function doctor(): Promise<DoctorReport> {
  const backends: BackendStatus[] = [];
  for (const name of ['node-gpu', 'cpu', 'wasm'] as const) {
    try {
      const info = await useBackend(name);
      backends.push({ name, ok: true, backend: info.backend, simd: info.simd, threads: info.threads });
    } catch (e) {
      backends.push({ name, ok: false, error: (e as Error).message });
    }
  }
  const packages = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-node-gpu'];
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    versions: Object.fromEntries(packages.map((p) => [p, version(p)])),
    backends: backends.sort((a, b) => ['wasm', 'cpu', 'node-gpu'].indexOf(a.name) - ['wasm', 'cpu', 'node-gpu'].indexOf(b.name)),
  };
}

