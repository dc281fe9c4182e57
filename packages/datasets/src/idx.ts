import { readFileSync } from 'node:fs';
import { DatasetError } from './errors';

const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DatasetError(`Cannot read dataset file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, { file });
  }
}

/**
 * Parses an IDX image file (magic 2051, big-endian count, rows, cols, then uint8 pixels) and
 * validates the magic number and the size.
 * @throws {@link DatasetError} naming the file
 */
export function readIdxImages(file: string): { images: Uint8Array; count: number; rows: number; cols: number } {
  const buf = read(file);
  if (buf.length < 16 || buf.readUInt32BE(0) !== IMAGES_MAGIC) {
    throw new DatasetError(`${file} is not an IDX image file (magic ${buf.length >= 4 ? buf.readUInt32BE(0) : 'missing'}, expected ${IMAGES_MAGIC}).`, { file });
  }
  const count = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  const expected = 16 + count * rows * cols;
  if (buf.length !== expected) {
    throw new DatasetError(`${file} is truncated or padded: ${buf.length} bytes for ${count} images of ${rows}×${cols} (expected ${expected}).`, { file });
  }
  return { images: new Uint8Array(buf.buffer, buf.byteOffset + 16, count * rows * cols), count, rows, cols };
}

/**
 * Parses an IDX label file (magic 2049, big-endian count, then uint8 labels).
 * @throws {@link DatasetError} naming the file
 */
export function readIdxLabels(file: string, numClasses: number): Uint8Array {
  const buf = read(file);
  if (buf.length < 8 || buf.readUInt32BE(0) !== LABELS_MAGIC) {
    throw new DatasetError(`${file} is not an IDX label file (magic ${buf.length >= 4 ? buf.readUInt32BE(0) : 'missing'}, expected ${LABELS_MAGIC}).`, { file });
  }
  const count = buf.readUInt32BE(4);
  if (buf.length !== 8 + count) {
    throw new DatasetError(`${file} is truncated or padded: ${buf.length} bytes for ${count} labels (expected ${8 + count}).`, { file });
  }
  const labels = new Uint8Array(buf.buffer, buf.byteOffset + 8, count);
  const bad = labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new DatasetError(`${file} has label ${labels[bad]} at index ${bad}; expected 0..${numClasses - 1}.`, { file });
  return labels;
}
