import * as tf from '@tensorflow/tfjs-core';
import { imageSize, type ImageDataset, type ImageSplit } from './dataset';
import { mulberry32 } from '@srq/quantizers';
import { permutation } from './random';

/** Options of {@link batches}. */
export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this seed (a new order for every seed); omit for the stored order. */
  shuffleSeed?: number;
  /** Random crop (pad 4, then crop back) and horizontal flip, from `augmentSeed` (CIFAR-style). */
  augment?: boolean;
  augmentSeed?: number;
  /** Drop the last incomplete batch (default false). */
  dropRemainder?: boolean;
}

/** One batch: normalised float32 images `[B, H, W, C]` and one-hot labels `[B, classes]`. Dispose both. */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor2D;
  labels: Uint8Array;
  size: number;
}

/** Number of batches {@link batches} yields for a split. */
export function batchCount(split: ImageSplit, options: Pick<BatchOptions, 'batchSize' | 'dropRemainder'>): number {
  return options.dropRemainder ? Math.floor(split.count / options.batchSize) : Math.ceil(split.count / options.batchSize);
}

/**
 * Batches of a split, made on the fly from the one uint8 copy: gather the (shuffled) images,
 * optionally augment them, normalise `(p/255 - mean)/std` and one-hot the labels.
 */
export function* batches(dataset: ImageDataset, split: ImageSplit, options: BatchOptions): Generator<Batch> {
  const { batchSize } = options;
  const size = imageSize(dataset);
  const [h, w, c] = dataset.shape;
  const order = options.shuffleSeed === undefined ? null : permutation(split.count, options.shuffleSeed);
  const rand = mulberry32(options.augmentSeed ?? 0);
  const scale = dataset.std.map((s) => 1 / (255 * s));
  const shift = dataset.mean.map((m, ch) => -m / dataset.std[ch]!);
  const total = batchCount(split, options);
  for (let b = 0; b < total; b++) {
    const start = b * batchSize;
    const n = Math.min(batchSize, split.count - start);
    const pixels = new Float32Array(n * size);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const src = order ? order[start + i]! : start + i;
      labels[i] = split.labels[src]!;
      const image = split.images.subarray(src * size, (src + 1) * size);
      const dy = options.augment ? Math.floor(rand() * 9) - 4 : 0;
      const dx = options.augment ? Math.floor(rand() * 9) - 4 : 0;
      const flip = options.augment ? rand() < 0.5 : false;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const sy = y + dy;
          const sx = flip ? w - 1 - x + dx : x + dx;
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          for (let ch = 0; ch < c; ch++) {
            const p = inside ? image[(sy * w + sx) * c + ch]! : 0;
            pixels[i * size + (y * w + x) * c + ch] = p * scale[ch]! + shift[ch]!;
          }
        }
      }
    }
    const x = tf.tensor4d(pixels, [n, h, w, c]);
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), dataset.numClasses), 'float32') as tf.Tensor2D);
    yield { x, y, labels, size: n };
  }
}
