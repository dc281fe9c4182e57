import { permutation } from './random';
/** One split of an image classification dataset, kept as one compact uint8 copy. */
export interface ImageSplit {
  /** Pixels, `count × height × width × channels`, row-major (NHWC), 0..255. */
  images: Uint8Array;
  /** Class index of each image. */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
}

/** An image classification dataset (train and test splits) with its normalisation constants. */
export interface ImageDataset {
  name: string;
  /** `[height, width, channels]`. */
  shape: [number, number, number];
  numClasses: number;
  classNames: string[];
  train: ImageSplit;
  test: ImageSplit;
  /** Per-channel mean and standard deviation of pixel/255 (normalisation: `(p/255 - mean)/std`). */
  mean: number[];
  std: number[];
  /** Where the data came from and how it was split. */
  source: string;
}

/** Bytes of one image of a dataset. */
export function imageSize(dataset: Pick<ImageDataset, 'shape'>): number {
  return dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
}

/**
 * A fixed random subset of `limit` images of a split (in their original order), the same for a
 * given `seed`: what `--limit` trains on. Not the first `limit` images — Fashion-MNIST's are
 * sorted by class, so a prefix would hold a few classes only. The whole split when `limit` ≥ its
 * size.
 */
export function subset(split: ImageSplit, limit: number, size: number, seed = 0): ImageSplit {
  if (limit >= split.count) return split;
  const picked = permutation(split.count, seed).subarray(0, limit).sort();
  const images = new Uint8Array(limit * size);
  const labels = new Uint8Array(limit);
  picked.forEach((from, i) => {
    images.set(split.images.subarray(from * size, (from + 1) * size), i * size);
    labels[i] = split.labels[from]!;
  });
  return { images, labels, count: limit };
}
