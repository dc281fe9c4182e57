import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Versions of Node, the @srq packages and tfjs, and the git commit of the code when it runs from a checkout. */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (name: string) => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  const out: Record<string, string> = { node: process.version };
  for (const name of ['@srq/cli', '@srq/models', '@srq/quantizers', '@srq/dropbits', '@srq/backends', '@srq/datasets', '@tensorflow/tfjs-core']) out[name] = version(name);
  try {
    // the checkout this code runs from (not the working directory), marked when its code (packages/
    // and the lockfile; not results or docs) has uncommitted changes
    const cwd = dirname(fileURLToPath(import.meta.url));
    const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    out.commit = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no', '--', ':(top)packages', ':(top)package.json', ':(top)package-lock.json') ? '+uncommitted changes' : ''}`;
  } catch {
    // not a git checkout (an installed package)
  }
  return out;
}
