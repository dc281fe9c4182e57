import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runInNode } from './node-run';

/** The code block that follows a `<!-- doc-test: NAME` marker in a README. */
function docBlock(readme: string, name: string): string {
  const marker = readme.indexOf(`<!-- doc-test: ${name}`);
  expect(marker, `doc-test marker ${name}`).toBeGreaterThanOrEqual(0);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(marker));
  expect(match).not.toBeNull();
  return match![1]!;
}

describe('README examples run as written', () => {
  it('@srq/quantizers quick start trains a 2-bit layer and exports its codes (plain Node, ESM)', () => {
    const readme = readFileSync(join(repoRoot, 'packages/quantizers/README.md'), 'utf8');
    const code = docBlock(readme, 'quick-start');
    expect(code.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(14);
    const out = runInNode(code, 'mjs').trim().split('\n').at(-1)!;
    const match = /^(\d+) ([\d.e+-]+) \[ 784, 10 \]$/.exec(out);
    expect(match, out).not.toBeNull();
    expect(Number(match![1])).toBe(784 * 10);
    expect(Number(match![2])).toBeGreaterThan(0);
  });

  it('@srq/dropbits example trains with DropBits and BitGates and reports (plain Node, ESM)', () => {
    const readme = readFileSync(join(repoRoot, 'packages/dropbits/README.md'), 'utf8');
    const out = JSON.parse(runInNode(docBlock(readme, 'dropbits'), 'mjs').trim().split('\n').at(-1)!);
    expect(out.drops.samples).toBe(50 * 64 * 32);
    expect(out.drops.frequency).toHaveLength(3);
    expect(out.drops.frequency[0]).toBeCloseTo(0.9, 1);
    expect(out.bits).toBeGreaterThanOrEqual(1);
    expect(out.bits).toBeLessThanOrEqual(4);
  });
});
