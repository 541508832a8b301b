// CIFAR-10 / CIFAR-100 binary versions: fixed-size records of label byte(s) + 3072 planar RGB bytes.
import { FormatError } from '../core/errors.js';
import { Dataset } from './dataset.js';
import { exists, joinPath, readBytes } from './files.js';
import { type RawSample, checkLabel } from './sample.js';
import type { Transform } from './transforms.js';
import { type SharedImages, sharedImagesFrom } from './wire.js';

const pixels = 3 * 32 * 32;

export interface CifarOptions {
  train?: boolean;
  transform?: Transform | null;
  /** CIFAR-100 only: which label the sample carries (default 'fine', as torchvision). */
  labelType?: 'fine' | 'coarse';
}

/** Records from one or more CIFAR binary files, kept as they are (planar bytes). */
export class CifarDataset extends Dataset {
  readonly length: number;
  private readonly offsets: { bytes: Uint8Array; record: number }[] = [];

  constructor(
    files: { path: string; bytes: Uint8Array }[],
    private readonly labelBytes: 1 | 2,
    private readonly labelIndex: 0 | 1,
    limits: number[],
    classes: string[],
    transform: Transform | null,
  ) {
    super();
    this.classes = classes;
    this.transform = transform;
    const recordBytes = labelBytes + pixels;
    for (const { path, bytes } of files) {
      if (bytes.length === 0) throw new FormatError(`${path}: empty file`);
      const n = Math.floor(bytes.length / recordBytes);
      if (bytes.length % recordBytes !== 0) {
        throw new FormatError(
          `${path}: truncated: record ${n} is incomplete (${bytes.length % recordBytes} of ${recordBytes} bytes; the file has ${bytes.length} bytes)`,
        );
      }
      for (let r = 0; r < n; r++) {
        for (let k = 0; k < labelBytes; k++) checkLabel(bytes[r * recordBytes + k], limits[k], path, r);
        this.offsets.push({ bytes, record: r });
      }
    }
    this.length = this.offsets.length;
  }

  private shared: SharedImages | null | undefined;

  /**
   * The records' pixels packed into shared memory, once; this dataset then reads samples there and
   * drops the file bytes (one copy kept, not two).
   */
  override sharedImages(): SharedImages | null {
    if (this.shared !== undefined) return this.shared;
    const meta = { kind: 'u8' as const, length: pixels, height: 32, width: 32, channels: 3, layout: 'CHW' as const };
    // Straight from the file bytes: one read of each record's pixels and label, no sample objects.
    const shared = sharedImagesFrom(
      meta,
      this.length,
      (i) => {
        const { bytes, start } = this.record(i);
        return bytes.subarray(start + this.labelBytes, start + this.labelBytes + pixels);
      },
      (i) => {
        const { bytes, start } = this.record(i);
        return bytes[start + this.labelIndex];
      },
    );
    if (shared) this.offsets.length = 0;
    this.shared = shared;
    return shared;
  }

  /** Where record `index` starts in its file's bytes (label byte(s), then the pixels). */
  private record(index: number): { bytes: Uint8Array; start: number } {
    const { bytes, record } = this.offsets[index];
    return { bytes, start: record * (this.labelBytes + pixels) };
  }

  raw(index: number): RawSample {
    this.checkIndex(index);
    if (this.shared) {
      const data = this.shared.data.subarray(index * pixels, (index + 1) * pixels) as Uint8Array;
      return { image: { kind: 'u8', data, height: 32, width: 32, channels: 3, layout: 'CHW' }, label: this.shared.labels[index] };
    }
    const { bytes, start } = this.record(index);
    return {
      image: {
        kind: 'u8',
        data: bytes.subarray(start + this.labelBytes, start + this.labelBytes + pixels),
        height: 32,
        width: 32,
        channels: 3,
        layout: 'CHW',
      },
      label: bytes[start + this.labelIndex],
    };
  }
}

async function readAll(dir: string, names: string[]): Promise<{ path: string; bytes: Uint8Array }[]> {
  for (const sub of ['', 'cifar-10-batches-bin/', 'cifar-100-binary/']) {
    const paths = names.map((n) => joinPath(dir, sub + n));
    if (await exists(paths[0])) {
      const out = [];
      for (const p of paths) {
        if (!(await exists(p))) throw new FormatError(`${p}: missing (expected ${names.join(', ')})`);
        out.push({ path: p, bytes: await readBytes(p) });
      }
      return out;
    }
  }
  throw new FormatError(`${dir}: no ${names[0]} (looked in it and in cifar-10-batches-bin/, cifar-100-binary/)`);
}

const cifar10Classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR10 = {
  classes: cifar10Classes,
  /** data_batch_1..5.bin (train) or test_batch.bin from `dir` (or its cifar-10-batches-bin/). */
  async fromDirectory(dir: string, options: CifarOptions = {}): Promise<CifarDataset> {
    const names = (options.train ?? true) ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
    return new CifarDataset(await readAll(dir, names), 1, 0, [10], cifar10Classes, options.transform ?? null);
  },
  async fromFiles(paths: string[], options: CifarOptions = {}): Promise<CifarDataset> {
    const files = await Promise.all(paths.map(async (path) => ({ path, bytes: await readBytes(path) })));
    return new CifarDataset(files, 1, 0, [10], cifar10Classes, options.transform ?? null);
  },
};

export const CIFAR100 = {
  /** train.bin or test.bin; each record is coarse label, fine label, 3072 pixels. */
  async fromDirectory(dir: string, options: CifarOptions = {}): Promise<CifarDataset> {
    const files = await readAll(dir, [(options.train ?? true) ? 'train.bin' : 'test.bin']);
    return CIFAR100.fromBytes(files, options);
  },
  async fromFiles(paths: string[], options: CifarOptions = {}): Promise<CifarDataset> {
    return CIFAR100.fromBytes(await Promise.all(paths.map(async (path) => ({ path, bytes: await readBytes(path) }))), options);
  },
  fromBytes(files: { path: string; bytes: Uint8Array }[], options: CifarOptions = {}): CifarDataset {
    const fine = (options.labelType ?? 'fine') === 'fine';
    return new CifarDataset(files, 2, fine ? 1 : 0, [20, 100], [], options.transform ?? null);
  },
};
