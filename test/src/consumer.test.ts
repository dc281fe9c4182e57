// A fresh consumer: every package packed with `npm pack` (what `npm publish` would upload), linted
// with publint, then installed from the tarballs into a new project beside @tensorflow/tfjs, as a
// user installs them. There, the README's plug-in examples run as written (plain Node, ESM) and
// the installed `srq` command answers --version and --help. Installs from the npm registry (or
// npm's cache, which `npm ci` filled); takes about a minute.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './node-run';

const PACKAGES = ['quantizers', 'dropbits', 'models', 'datasets', 'backends', 'cli'];
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } });

/** The code block after a `<!-- doc-test: NAME` marker of a README. */
function docBlock(readme: string, name: string): string {
  const at = readme.indexOf(`<!-- doc-test: ${name}`);
  expect(at, `doc-test marker ${name}`).toBeGreaterThanOrEqual(0);
  return /```ts\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
}

describe('a fresh project installs the packed packages', () => {
  let project: string;
  const version = JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')).version as string;

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'srq-consumer-'));
    const tarballs = join(project, 'tarballs');
    mkdirSync(tarballs);
    for (const p of PACKAGES) npm(['pack', '--silent', '--pack-destination', tarballs], join(repoRoot, 'packages', p));
    const files = readdirSync(tarballs);
    const dependencies: Record<string, string> = { '@tensorflow/tfjs': '^4.22.0' };
    for (const p of PACKAGES) dependencies[`@srq/${p}`] = `file:tarballs/${files.find((f) => f.startsWith(`srq-${p}-`))!}`;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project);
  }, 600_000);

  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it.each(PACKAGES)('@srq/%s passes publint --strict', (p) => {
    const r = spawnSync('npx', ['publint', '--strict', join(repoRoot, 'packages', p)], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('the tarballs hold the built files and no sources or tests', () => {
    const listed = npm(['pack', '--dry-run', '--json'], join(repoRoot, 'packages/cli'));
    const names = (JSON.parse(listed) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(names).toContain('bin/srq.js');
    expect(names).toContain('dist/bin.js');
    expect(names).toContain('dist/data-parallel-worker.js');
    expect(names.filter((n) => n.startsWith('src/') || n.endsWith('.test.js'))).toEqual([]);
  });

  it.each<[string, string, string, (out: string) => void]>([
    ['@srq/quantizers', 'packages/quantizers/README.md', 'quick-start', (out) => {
      const match = /^(\d+) ([\d.e+-]+) \[ 784, 10 \]$/.exec(out);
      expect(match, out).not.toBeNull();
      expect(Number(match![1])).toBe(784 * 10);
      expect(Number(match![2])).toBeGreaterThan(0);
    }],
    ['@srq/dropbits', 'packages/dropbits/README.md', 'dropbits', (out) => {
      const report = JSON.parse(out);
      expect(report.drops.samples).toBe(50 * 64 * 32);
      expect(report.drops.frequency).toHaveLength(3);
      expect(report.drops.frequency[0]).toBeCloseTo(0.9, 1);
      expect(report.bits).toBeGreaterThanOrEqual(1);
      expect(report.bits).toBeLessThanOrEqual(4);
    }],
  ])('the %s README example runs as written in the installed project (plain Node, ESM)', (_, readme, name, check) => {
    const code = docBlock(readFileSync(join(repoRoot, readme), 'utf8'), name);
    if (name === 'quick-start') expect(code.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(14);
    writeFileSync(join(project, `${name}.mjs`), code);
    const r = spawnSync(process.execPath, [`${name}.mjs`], { cwd: project, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    check(r.stdout.trim().split('\n').at(-1)!);
  });

  it('quantizeModel of a tfjs model works from CommonJS', () => {
    writeFileSync(
      join(project, 'plug-in.cjs'),
      `const tf = require('@tensorflow/tfjs');
const { quantizeModel, modelReport } = require('@srq/models');
const float = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 16, activation: 'relu' }), tf.layers.dense({ units: 4 })] });
const q = quantizeModel(float, { method: 'srq', weightBits: 2, activationBits: 2 });
q.predict(tf.randomNormal([3, 8]));
console.log(JSON.stringify(modelReport(q).bits));`,
    );
    const r = spawnSync(process.execPath, ['plug-in.cjs'], { cwd: project, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).length).toBeGreaterThan(0);
  });

  it('the installed srq command answers --version and --help', () => {
    const v = spawnSync('npx', ['--no-install', 'srq', '--version'], { cwd: project, encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const h = spawnSync('npx', ['--no-install', 'srq', '--help'], { cwd: project, encoding: 'utf8' });
    expect(h.status, h.stderr).toBe(0);
    for (const command of ['train', 'eval', 'export', 'bench', 'compare', 'doctor']) expect(h.stdout).toContain(command);
  });
});

describe('the README commands from the repository root', () => {
  it('npx srq --version prints the version after the build (the bin is linked at install)', () => {
    const r = spawnSync('npx', ['--no-install', 'srq', '--version'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
