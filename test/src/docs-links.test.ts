// Every document the repository cites is in the repository: relative links of every tracked
// Markdown file resolve to a file, and no file names a design document that is not tracked.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './node-run';

const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n');

describe('the repository cites only what it holds', () => {
  it('every relative link of a tracked Markdown file resolves', () => {
    const broken: string[] = [];
    for (const file of tracked.filter((f) => f.endsWith('.md') && !f.includes('CHANGELOG'))) {
      const text = readFileSync(join(repoRoot, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!) || target!.startsWith('/')) continue; // external, anchors, site-absolute (VitePress)
        const path = join(repoRoot, dirname(file), target!.split('#')[0]!);
        if (![path, `${path}.md`, join(path, 'index.md')].some(existsSync)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('no file cites a design document that is not in the repository', () => {
    const cited = new RegExp([...['ALGORITHM', 'ARCHITECTURE'].map((n) => `${n}\\.md`), ['design', 'notes'].join(' ')].join('|'));
    const citing = tracked.filter((f) => /\.(ts|js|mjs|md|vue)$/.test(f)).filter((f) => cited.test(readFileSync(join(repoRoot, f), 'utf8')));
    expect(citing).toEqual([]);
  });
});
