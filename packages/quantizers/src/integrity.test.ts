import { describe, expect, it } from 'vitest';
import { crc32, openJson, sealJson, sealOf, sealProblem } from './integrity';

describe('integrity', () => {
  it('crc32 matches the standard check value and hashes strings as UTF-8', () => {
    expect(crc32('123456789')).toBe('cbf43926');
    expect(crc32(new Uint8Array())).toBe('00000000');
    expect(crc32('é')).toBe(crc32(new Uint8Array([0xc3, 0xa9])));
  });

  it('sealProblem names truncation, extra bytes, emptiness and a flipped byte', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const seal = sealOf(data);
    expect(sealProblem(data, seal)).toBeNull();
    expect(sealProblem(data.subarray(0, 3), seal)).toBe('truncated: 3 of 8 bytes');
    expect(sealProblem(new Uint8Array(), seal)).toBe('empty (8 bytes recorded)');
    expect(sealProblem(new Uint8Array(9), seal)).toBe('9 bytes, 8 recorded');
    const flipped = data.slice();
    flipped[5]! ^= 0x10;
    expect(sealProblem(flipped, seal)).toMatch(/^checksum mismatch/);
  });

  it('openJson reads what sealJson wrote and refuses damaged documents', () => {
    const text = sealJson(1, { epoch: 3, dir: 'a' });
    const fail = (problem: string) => new Error(problem);
    expect(openJson(text, 1, fail)).toEqual({ epoch: 3, dir: 'a' });
    expect(() => openJson(text.replace('"epoch":3', '"epoch":4'), 1, fail)).toThrow('checksum mismatch');
    expect(() => openJson(text, 2, fail)).toThrow('format version 1; this version reads 2');
    expect(() => openJson('garbage', 1, fail)).toThrow(/^not valid JSON/);
    expect(() => openJson('', 1, fail)).toThrow('empty');
    expect(() => openJson('{"epoch":3}', 1, fail)).toThrow(/not a sealed document/);
  });
});
