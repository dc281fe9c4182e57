import { describe, expect, it } from 'vitest';
import { resolveQuantizerConfig, type QuantizerConfig } from './config';
import { QuantizerConfigError, SrqError } from './errors';
import { Quantizer } from './quantizer';

function errorOf(config: unknown): QuantizerConfigError {
  try {
    new Quantizer(config as QuantizerConfig);
  } catch (e) {
    expect(SrqError.isInstance(e)).toBe(true);
    expect(e).toBeInstanceOf(QuantizerConfigError);
    return e as QuantizerConfigError;
  }
  throw new Error('expected the config to be rejected');
}

describe('quantizer configuration', () => {
  it('fills in the documented defaults', () => {
    expect(resolveQuantizerConfig({ bits: 2 })).toMatchObject({
      bits: 2, signed: true, method: 'srq', temperature: 1, window: 5, perChannel: false, channelAxis: -1,
      symmetricBinary: false, init: 'std', sigmaInit: 1 / 3, seed: 0, debug: false,
    });
    expect(resolveQuantizerConfig({ bits: 4, signed: false }).init).toBe('quantile');
    expect(resolveQuantizerConfig({ bits: 1, symmetricBinary: true }).init).toBe('mean-abs');
  });

  it.each([
    [{ bits: 0 }, 'bits', 'an integer from 1 to 8'],
    [{ bits: 9 }, 'bits', 'an integer from 1 to 8'],
    [{ bits: 2.5 }, 'bits', 'an integer from 1 to 8'],
    [{ bits: '4' }, 'bits', 'an integer from 1 to 8'],
    [{}, 'bits', 'an integer from 1 to 8'],
    [{ bits: 2, method: 'lsq' }, 'method', "'ste', 'rq', 'rq-st', 'srq'"],
    [{ bits: 2, temperature: 0 }, 'temperature', 'a finite number > 0'],
    [{ bits: 2, temperature: -1 }, 'temperature', 'a finite number > 0'],
    [{ bits: 2, temperature: Number.NaN }, 'temperature', 'a finite number > 0'],
    [{ bits: 2, window: 1 }, 'window', 'an integer ≥ 2'],
    [{ bits: 2, symmetricBinary: true }, 'symmetricBinary', 'only with bits: 1 and signed: true'],
    [{ bits: 2, signed: 'yes' }, 'signed', 'true or false'],
    [{ bits: 2, bitz: 3 }, 'bitz', 'one of the fields'],
    [{ bits: 2, init: 'max' }, 'init', "'std', 'quantile', 'mean-abs'"],
  ])('rejects %j naming the field %s and the allowed values', (config, field, allowed) => {
    const e = errorOf(config);
    expect(e.code).toBe('QUANTIZER_CONFIG');
    expect(e.fields.field).toBe(field);
    expect(e.message).toContain(`${field} =`);
    expect(e.message).toContain(allowed);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('accepts every method and bits 1..8', () => {
    for (const method of ['ste', 'rq', 'rq-st', 'srq'] as const) {
      for (let bits = 1; bits <= 8; bits++) expect(new Quantizer({ bits, method }).config.bits).toBe(bits);
    }
  });
});
