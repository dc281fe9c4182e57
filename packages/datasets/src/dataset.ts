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

/** The first `limit` images of a split (views, no copy). */
export function head(split: ImageSplit, limit: number, size: number): ImageSplit {
  const count = Math.min(limit, split.count);
  return { images: split.images.subarray(0, count * size), labels: split.labels.subarray(0, count), count };
}
