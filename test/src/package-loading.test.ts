import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runInNode } from './node-run';

const PACKAGES = ['quantizers', 'dropbits', 'datasets', 'backends', 'models', 'cli'];

/** A few exports of each package that must be there in both module formats. */
const EXPORTS: Record<string, string[]> = {
  datasets: ['loadDataset', 'batches', 'DatasetError'],
  backends: ['useBackend', 'doctor', 'BackendError'],
  models: ['QConv2D', 'QDense', 'QActivation', 'lenet5', 'quantizeModel', 'fileSystem', 'exportPacked', 'loadPackedModel'],
  cli: ['program', 'train', 'RunDir'],
};

const probe = (load: string) => `${load}
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('cpu');
const q = new srq.Quantizer({ bits: 2 });
const y = q.apply(tf.tensor1d([0.3, -0.9, 2]), { training: true });
let err; try { new srq.Quantizer({ bits: 9 }); } catch (e) { err = e; }
console.log(JSON.stringify({ exports: Object.keys(srq).sort(), out: Array.from(y.dataSync()), error: srq.SrqError.isInstance(err) && err.code }));
`;

describe('built packages load in plain Node', () => {
  it.each([
    ['ESM import', 'mjs', "import * as srq from '@srq/quantizers';"],
    ['CommonJS require', 'cjs', "const srq = require('@srq/quantizers');"],
  ] as const)('@srq/quantizers through %s', (_, ext, load) => {
    const source = ext === 'cjs' ? `(async () => {${probe(load)}})().catch((e) => { console.error(e); process.exit(1); });` : probe(load);
    const result = JSON.parse(runInNode(source, ext).trim().split('\n').at(-1)!);
    expect(result.exports).toEqual(expect.arrayContaining(['Quantizer', 'quantize', 'dequantize', 'Grid', 'SrqError', 'gridProbabilities']));
    expect(result.out).toHaveLength(3);
    expect(result.error).toBe('QUANTIZER_CONFIG');
  });

  it.each([
    ['ESM import', 'mjs', "import * as db from '@srq/dropbits';"],
    ['CommonJS require', 'cjs', "const db = require('@srq/dropbits');"],
  ] as const)('@srq/dropbits through %s', (_, ext, load) => {
    const body = `${load}
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('cpu');
const d = new db.DropBits({ p: 0.5, seed: 1 }).sample([1000], 4);
let err; try { new db.DropBits({ p: 1 }); } catch (e) { err = e; }
console.log(JSON.stringify({ exports: Object.keys(db).sort(), max: Math.max(...d.dataSync()), error: err && err.code }));
`;
    const source = ext === 'cjs' ? `(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });` : body;
    const result = JSON.parse(runInNode(source, ext).trim().split('\n').at(-1)!);
    expect(result.exports).toEqual(expect.arrayContaining(['DropBits', 'BitGates', 'regularize', 'bitBudgetPenalty', 'DropBitsConfigError']));
    expect(result.max).toBe(3);
    expect(result.error).toBe('DROPBITS_CONFIG');
  });

  it.each(Object.entries(EXPORTS).flatMap(([name, names]) => (['mjs', 'cjs'] as const).map((ext) => [name, ext, names] as const)))(
    '@srq/%s loads as %s with its exports',
    (name, ext, names) => {
      const load = ext === 'mjs' ? `const m = await import('@srq/${name}');` : `const m = require('@srq/${name}');`;
      const body = `${load}\nconsole.log(JSON.stringify(Object.keys(m)));`;
      const source = ext === 'cjs' ? `(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });` : body;
      expect(JSON.parse(runInNode(source, ext).trim().split('\n').at(-1)!)).toEqual(expect.arrayContaining(names));
    },
  );

  it.each(PACKAGES)('@srq/%s manifest: exports map files exist, types first; math packages: tfjs-core a peer, no backend', (name) => {
    const dir = join(repoRoot, 'packages', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.files).toContain('dist');
    for (const cond of ['import', 'require'] as const) {
      const entry = pkg.exports['.'][cond];
      expect(Object.keys(entry)[0]).toBe('types');
      expect(existsSync(join(dir, entry.types))).toBe(true);
      expect(existsSync(join(dir, entry.default))).toBe(true);
    }
    if (name === 'backends' || name === 'cli') return; // the backend package and the application pick backends
    expect(Object.keys(pkg.peerDependencies ?? {})).toContain('@tensorflow/tfjs-core');
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    expect(deps.filter((d) => /tfjs-backend|tfjs-node/.test(d))).toEqual([]);
  });
});

describe.each([
  ['models', ['lenet5', 'QActivation', 'parsePackedModel', 'loadPackedModelFromUrl', 'modelReport', 'IntConv2D'], 'exportPacked'],
  ['backends', ['registerSrqKernels', 'INFERENCE_KERNELS', 'TRAINING_KERNELS', 'loadIntConvWasm'], 'useBackend'],
])('@srq/%s in browsers', (name, exported, nodeOnly) => {
  it("the 'browser' entry (and every chunk it imports) has no Node built-in imports, and bundlers pick it", () => {
    const dir = join(repoRoot, 'packages', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.exports['.'])[0]).toBe('browser'); // before import/require
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      const specifiers = [...code.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
      expect(specifiers.filter((s) => /^(node:)?(fs|path|os|child_process|worker_threads|http|url|module)$/.test(s)), file).toEqual([]);
      for (const s of specifiers.filter((x) => x.startsWith('./'))) visit(join(dir, 'dist', s));
    };
    visit(join(dir, pkg.exports['.'].browser.default));
    expect(seen.size).toBeGreaterThan(1); // the shared chunk was followed
    const names = runInNode(`const m = await import('@srq/${name}/browser'); console.log(JSON.stringify(Object.keys(m)));`, 'mjs');
    expect(JSON.parse(names.trim().split('\n').at(-1)!)).toEqual(expect.arrayContaining(exported));
    expect(JSON.parse(names.trim().split('\n').at(-1)!)).not.toContain(nodeOnly);
  });
});
