import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDataset, ImageSplit } from './dataset';
import { DatasetError } from './errors';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_FILE = 'test_batch.bin';
const CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Reads CIFAR-10 binary files (records of 1 label byte + 3 colour planes of 32×32) into NHWC uint8. */
function readBatches(dir: string, files: string[]): ImageSplit {
  const buffers = files.map((name) => {
    const file = join(dir, name);
    if (!existsSync(file)) throw new DatasetError(`CIFAR-10 file ${file} is missing (expected ${[...TRAIN_FILES, TEST_FILE].join(', ')} in ${dir}).`, { file });
    const buf = readFileSync(file);
    if (buf.length === 0 || buf.length % RECORD !== 0) {
      throw new DatasetError(`${file} is truncated: ${buf.length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records.`, { file });
    }
    for (let o = 0; o < buf.length; o += RECORD) {
      if (buf[o]! > 9) throw new DatasetError(`${file}: record ${o / RECORD} has label ${buf[o]}; expected 0..9.`, { file });
    }
    return buf;
  });
  const count = buffers.reduce((a, b) => a + b.length / RECORD, 0);
  const images = new Uint8Array(count * 3 * PLANE);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const buf of buffers) {
    for (let o = 0; o < buf.length; o += RECORD, n++) {
      labels[n] = buf[o]!;
      const out = n * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = buf[o + 1 + p]!;
        images[out + 3 * p + 1] = buf[o + 1 + PLANE + p]!;
        images[out + 3 * p + 2] = buf[o + 1 + 2 * PLANE + p]!;
      }
    }
  }
  return { images, labels, count };
}

/**
 * CIFAR-10 from a directory in the official binary format (`data_batch_1..5.bin`, `test_batch.bin`),
 * given as `dataDir` or by `SRQ_CIFAR10_DIR`.
 * @throws {@link DatasetError} naming the missing directory or a missing or truncated file
 */
export function loadCifar10(options: { dataDir?: string } = {}): ImageDataset {
  const dir = options.dataDir ?? process.env.SRQ_CIFAR10_DIR;
  if (!dir) throw new DatasetError('CIFAR-10 needs a data directory: pass --data-dir DIR or set SRQ_CIFAR10_DIR (binary version, data_batch_1..5.bin and test_batch.bin).', { file: '' });
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`CIFAR-10 data directory ${dir} does not exist.`, { file: dir });
  return {
    name: 'cifar10',
    shape: [SIDE, SIDE, 3],
    numClasses: 10,
    classNames: CLASS_NAMES,
    train: readBatches(dir, TRAIN_FILES),
    test: readBatches(dir, [TEST_FILE]),
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    source: `CIFAR-10 binary files in ${dir}`,
  };
}

/** Encodes images (NHWC uint8) and labels as CIFAR-10 binary records (for tests and tools). */
export function encodeCifar10(images: Uint8Array, labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length * RECORD);
  for (let n = 0; n < labels.length; n++) {
    out[n * RECORD] = labels[n]!;
    for (let p = 0; p < PLANE; p++) for (let c = 0; c < 3; c++) out[n * RECORD + 1 + c * PLANE + p] = images[n * 3 * PLANE + 3 * p + c]!;
  }
  return out;
}
