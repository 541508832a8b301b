// The data pipeline's public surface: `datasets`, `transforms`, `DataLoader`.
import { ArrayDataset, Dataset } from './dataset.js';
import { CIFAR10, CIFAR100, CifarDataset } from './cifar.js';
import { FashionMNIST } from './fashion-mnist.js';
import { IdxImageDataset, MNIST, parseIdx } from './idx.js';
import { ImageFolder } from './image-folder.js';
import * as transforms from './transforms.js';
import * as functional from './functional.js';

export const datasets = {
  Dataset,
  ArrayDataset,
  MNIST,
  FashionMNIST,
  CIFAR10,
  CIFAR100,
  ImageFolder,
  IdxImageDataset,
  CifarDataset,
  parseIdx,
};
export { transforms, functional };
export { Dataset, ArrayDataset, CifarDataset, IdxImageDataset, ImageFolder };
export { DataLoader, type DataLoaderOptions, type DataBatch, type LoaderStats } from './loader.js';
export { WorkerPool, defaultWorkerCount } from './pool.js';
export { ImageContext, type Img } from './kernels.js';
export { sampleRandom, sampleSeed, epochPermutation } from './seed.js';
export type { RawImage, RawSample } from './sample.js';
