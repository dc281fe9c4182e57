import * as tf from '@tensorflow/tfjs-core';
import { SRQ_FUSED_KERNEL } from '@srq/quantizers';
import { describe, expect, it } from 'vitest';
import { doctor } from './doctor';
import { BackendError } from './errors';
import { useBackend } from './use-backend';

describe('useBackend', () => {
  it('selects wasm with SIMD and the training kernels registered for wasm only', async () => {
    const info = await useBackend('wasm');
    expect(info).toMatchObject({ backend: 'wasm', requested: 'wasm', simd: true });
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel(SRQ_FUSED_KERNEL, 'wasm')).toBeDefined();
  });

  it('selects cpu', async () => {
    expect((await useBackend('cpu')).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('node-gpu without @tensorflow/tfjs-node-gpu: a one-line error with the install command and the fallback', async () => {
    const error = await useBackend('node-gpu').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^The node-gpu backend is unavailable \(.*\): install it with `npm install @tensorflow\/tfjs-node-gpu`.*'--backend auto' falls back to wasm\.$/);
  });

  it("'auto' falls back to wasm and says why node-gpu was skipped", async () => {
    const info = await useBackend('auto');
    expect(info.backend).toBe('wasm');
    expect(info.skipped).toHaveLength(1);
    expect(info.skipped[0]).toMatch(/^node-gpu: /);
  });

  it('rejects an unknown backend name', async () => {
    await expect(useBackend('webgpu' as never)).rejects.toThrow(/Unknown backend "webgpu"; allowed: wasm, cpu, node-gpu, auto\./);
  });

  it('doctor reports every backend and the versions', async () => {
    const report = await doctor();
    expect(report.backends.map((b) => [b.name, b.ok])).toEqual([['wasm', true], ['cpu', true], ['node-gpu', false]]);
    expect(report.versions['@tensorflow/tfjs-core']).toMatch(/^4\./);
    expect(report.versions['@tensorflow/tfjs-node-gpu']).toBeNull();
  });
});
