import type * as tf from '@tensorflow/tfjs-core';
import { crc32, SrqError, type Seal } from '@srq/quantizers';

/**
 * A saved model could not be read: a missing directory or file, a file that does not parse, one
 * of another format version, or bytes that do not match what `model.json` recorded (truncated,
 * a flipped byte). The message names the file; `fields.file` holds its path.
 */
export class ModelFileError extends SrqError {
  constructor(message: string, file: string) {
    super('MODEL_FILE', message, { file });
  }
}

/** The format version of the `srq` field that our `model.json` files carry. */
export const MODEL_FORMAT = 1;

/** The `srq` field of a `model.json` written by this package: its format and integrity. */
export interface ModelSeal {
  format: number;
  /** CRC-32 of the rest of `model.json` (`JSON.stringify` of it without this field). */
  json: string;
  /** Length and CRC-32 of the weights file. */
  weights: Seal;
}

/** Parses a `model.json` text, or throws a {@link ModelFileError} naming `file`. */
export function parseModelJson<T extends object>(text: string, file: string): T {
  if (text.trim() === '') throw new ModelFileError(`${file} is empty.`, file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${file} is not valid JSON (${(e as Error).message.split('\n')[0]}).`, file);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFileError(`${file} does not hold a model (not a JSON object).`, file);
  return json as T;
}

/** `json` with its {@link ModelSeal} added under `srq`. */
export function sealModelJson<T extends object>(json: T, weights: Seal): T & { srq: ModelSeal } {
  return { ...json, srq: { format: MODEL_FORMAT, json: crc32(JSON.stringify(json)), weights } };
}

/**
 * Checks the `srq` field of a parsed `model.json` (when it has one: a model written by plain tfjs
 * has none) and returns the seal of its weights, or null.
 * @throws {@link ModelFileError} for another format version or a changed `model.json`
 */
export function checkModelSeal(json: { srq?: ModelSeal }, file: string): Seal | null {
  const { srq, ...rest } = json;
  if (srq === undefined) return null;
  if (srq?.format !== MODEL_FORMAT) throw new ModelFileError(`${file} has format version ${JSON.stringify(srq?.format)}; this version of @srq/models reads ${MODEL_FORMAT}.`, file);
  if (srq.json !== crc32(JSON.stringify(rest))) throw new ModelFileError(`${file} is damaged (checksum mismatch).`, file);
  return srq.weights;
}

/** Bytes of the weights a manifest describes (float32 / int32: 4 bytes an element; bool, uint8: 1). */
export function manifestBytes(specs: tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'bool' || s.dtype === ('uint8' as string) ? 1 : 4), 0);
}

/** The bytes of several views, one after the other. */
export function concatBytes(parts: ArrayBufferView[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), o);
    o += p.byteLength;
  }
  return out;
}
