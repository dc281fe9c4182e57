import type * as tfl from '@tensorflow/tfjs-layers';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './fs-io';
import { toOnnx } from './onnx-export';

/**
 * Writes `model` as an ONNX model in the QDQ form ({@link toOnnx}) to `file` (Node), atomically:
 * a temp file, then a rename, so an existing file is never left half-written.
 * @returns the file's size in bytes
 */
export function exportOnnx(model: tfl.LayersModel, file: string): { bytes: number } {
  const bytes = toOnnx(model);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, bytes);
  return { bytes: bytes.byteLength };
}
