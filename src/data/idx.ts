// IDX files (MNIST, Fashion-MNIST): big-endian header, then unsigned bytes.
import { FormatError } from '../core/errors.js';
import { Dataset } from './dataset.js';
import { exists, joinPath, maybeGunzip, readBytes } from './files.js';
import { type RawSample, checkLabel } from './sample.js';
import { type SharedImages, sharedImagesFrom } from './wire.js';
import type { Transform } from './transforms.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (type 0x08), checking the magic, dimensions and length. */
export function parseIdx(bytes: Uint8Array, file: string, expectedRank?: number): IdxArray {
  if (bytes.length < 4) throw new FormatError(`${file}: truncated IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new FormatError(
      `${file}: not an IDX file (magic number 0x${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}, expected 0x0000TTRR)`,
    );
  }
  if (bytes[2] !== 0x08)
    throw new FormatError(`${file}: IDX data type 0x${bytes[2].toString(16)} is not supported (unsigned byte, 0x08, only)`);
  const rank = bytes[3];
  if (rank < 1 || (expectedRank !== undefined && rank !== expectedRank)) {
    throw new FormatError(`${file}: IDX file has ${rank} dimensions, expected ${expectedRank ?? 'at least 1'}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    throw new FormatError(`${file}: truncated IDX header (${bytes.length} bytes, needs ${headerBytes})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const recordBytes = dims.slice(1).reduce((a, b) => a * b, 1);
  const need = headerBytes + dims[0] * recordBytes;
  if (bytes.length < need) {
    const complete = Math.floor((bytes.length - headerBytes) / Math.max(recordBytes, 1));
    throw new FormatError(
      `${file}: truncated: record ${complete} of ${dims[0]} is incomplete (file has ${bytes.length} bytes, the header promises ${need})`,
    );
  }
  if (bytes.length > need)
    throw new FormatError(`${file}: ${bytes.length - need} unexpected bytes after the ${dims[0]} records the header declares`);
  return { dims, data: bytes.subarray(headerBytes, need) };
}

export async function readIdxFile(path: string, expectedRank?: number): Promise<IdxArray> {
  return parseIdx(await maybeGunzip(await readBytes(path), path), path, expectedRank);
}

export interface IdxDatasetOptions {
  train?: boolean;
  transform?: Transform | null;
}

/** Images [N, H, W] and labels [N] from a pair of IDX files: grayscale, one channel. */
export class IdxImageDataset extends Dataset {
  readonly length: number;
  readonly height: number;
  readonly width: number;

  constructor(
    readonly images: IdxArray,
    readonly labels: Uint8Array,
    classes: string[],
    transform: Transform | null,
  ) {
    super();
    this.length = images.dims[0];
    this.height = images.dims[1];
    this.width = images.dims[2];
    this.classes = classes;
    this.transform = transform;
  }

  static async fromFiles(
    imagesFile: string,
    labelsFile: string,
    classes: string[],
    transform: Transform | null = null,
  ): Promise<IdxImageDataset> {
    const images = await readIdxFile(imagesFile, 3);
    const labels = await readIdxFile(labelsFile, 1);
    if (labels.dims[0] !== images.dims[0]) {
      throw new FormatError(`${labelsFile}: ${labels.dims[0]} labels, but ${imagesFile} has ${images.dims[0]} images`);
    }
    for (let i = 0; i < labels.data.length; i++) checkLabel(labels.data[i], classes.length, labelsFile, i);
    return new IdxImageDataset(images, labels.data, classes, transform);
  }

  private shared: SharedImages | null | undefined;

  /** A shared copy of the pixels, made once; `images.data` is then that copy (one copy kept, not two). */
  override sharedImages(): SharedImages | null {
    if (this.shared !== undefined) return this.shared;
    const n = this.height * this.width;
    const data = this.images.data;
    const meta = { kind: 'u8' as const, length: n, height: this.height, width: this.width, channels: 1 };
    this.shared = sharedImagesFrom(
      meta,
      this.length,
      (i) => data.subarray(i * n, (i + 1) * n),
      (i) => this.labels[i],
    );
    if (this.shared) this.images.data = this.shared.data as Uint8Array;
    return this.shared;
  }

  raw(index: number): RawSample {
    this.checkIndex(index);
    const n = this.height * this.width;
    return {
      image: {
        kind: 'u8',
        data: this.images.data.subarray(index * n, (index + 1) * n),
        height: this.height,
        width: this.width,
        channels: 1,
      },
      label: this.labels[index],
    };
  }
}

/** Finds `<prefix>-images-idx3-ubyte[.gz]` and its labels file in a directory. */
export async function findIdxPair(dir: string, train: boolean): Promise<[string, string]> {
  const prefix = train ? 'train' : 't10k';
  const found: string[] = [];
  for (const kind of ['images-idx3', 'labels-idx1']) {
    let hit: string | null = null;
    for (const name of [
      `${prefix}-${kind}-ubyte.gz`,
      `${prefix}-${kind}-ubyte`,
      `${prefix}-${kind.replace('-idx', '.idx')}-ubyte`,
    ]) {
      if (await exists(joinPath(dir, name))) {
        hit = joinPath(dir, name);
        break;
      }
    }
    if (!hit) throw new FormatError(`${dir}: no ${prefix}-${kind}-ubyte(.gz) file`);
    found.push(hit);
  }
  return [found[0], found[1]];
}

const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const MNIST = {
  classes: digits,
  async fromDirectory(dir: string, options: IdxDatasetOptions = {}): Promise<IdxImageDataset> {
    const [images, labels] = await findIdxPair(dir, options.train ?? true);
    return IdxImageDataset.fromFiles(images, labels, digits, options.transform ?? null);
  },
  fromFiles(imagesFile: string, labelsFile: string, options: { transform?: Transform | null } = {}): Promise<IdxImageDataset> {
    return IdxImageDataset.fromFiles(imagesFile, labelsFile, digits, options.transform ?? null);
  },
};
