import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The test workspace: scripts run from here resolve the workspace packages as an installed app would. */
export const workspaceDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(workspaceDir, '..');

/**
 * Runs `source` as a file of its own in plain Node (no test-runner transform), from a temporary
 * directory inside the test workspace so that `@srq/*` resolve to the built packages.
 * Returns stdout; throws with stderr when Node exits non-zero.
 */
export function runInNode(source: string, extension: 'mjs' | 'cjs'): string {
  const dir = mkdtempSync(join(workspaceDir, '.tmp-'));
  const file = join(dir, `script.${extension}`);
  writeFileSync(file, source);
  try {
    return execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`node ${file} failed: ${err.stderr ?? err.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
