import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError, transforms as T, datasets } from '../../src/index.js';
import { cifarBytes, idxBytes, mkdir, pattern, tempDir, writeFile } from '../helpers/data-files.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

function images(n: number, h: number, w: number): Uint8Array {
  const a = new Uint8Array(n * h * w);
  for (let r = 0; r < n; r++) for (let i = 0; i < h * w; i++) a[r * h * w + i] = pattern(r, i);
  return a;
}

describe('IDX (MNIST / Fashion-MNIST)', () => {
  for (const gzip of [false, true]) {
    it(`reads images and labels (${gzip ? 'gzipped' : 'raw'})`, async () => {
      const d = mkdir(join(dir, gzip ? 'idx-gz' : 'idx-raw'));
      const ext = gzip ? '.gz' : '';
      writeFile(join(d, `train-images-idx3-ubyte${ext}`), idxBytes([5, 4, 3], images(5, 4, 3)), gzip);
      writeFile(join(d, `train-labels-idx1-ubyte${ext}`), idxBytes([5], new Uint8Array([3, 1, 4, 1, 5])), gzip);
      const ds = await datasets.FashionMNIST.fromDirectory(d, { train: true });
      expect(ds.length).toBe(5);
      expect(ds.classes[9]).toBe('Ankle boot');
      const { x, y } = await ds.get(2);
      expect(x.shape).toEqual([1, 4, 3]);
      expect(y).toBe(4);
      const expected = Array.from({ length: 12 }, (_, i) => Math.fround(pattern(2, i) / 255));
      expect(Array.from(x.dataSync())).toEqual(expected);
    });
  }

  it('rejects a wrong magic number, naming the file', async () => {
    const bytes = idxBytes([2, 2, 2], new Uint8Array(8));
    bytes[0] = 0x1f;
    bytes[1] = 0x00;
    const f = writeFile(join(dir, 'bad-magic-idx3'), bytes);
    writeFile(join(dir, 'ok-labels'), idxBytes([2], new Uint8Array([0, 1])));
    await expect(datasets.MNIST.fromFiles(f, join(dir, 'ok-labels'))).rejects.toThrow(
      /bad-magic-idx3: not an IDX file \(magic number 0x1f00/,
    );
  });

  it('rejects a truncated file, naming the file and the record', async () => {
    const full = idxBytes([4, 2, 2], images(4, 2, 2));
    const f = writeFile(join(dir, 'trunc-images'), full.subarray(0, full.length - 3), true);
    writeFile(join(dir, 'trunc-labels'), idxBytes([4], new Uint8Array([0, 1, 2, 3])));
    const err = await datasets.MNIST.fromFiles(f, join(dir, 'trunc-labels')).catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toMatch(/trunc-images: truncated: record 3 of 4 is incomplete/);
  });

  it('rejects wrong dimensions, trailing bytes, count mismatch, label out of range and corrupt gzip', async () => {
    const labels = writeFile(join(dir, 'l3'), idxBytes([3], new Uint8Array([0, 1, 2])));
    const rank2 = writeFile(join(dir, 'rank2'), idxBytes([3, 4], new Uint8Array(12)));
    await expect(datasets.MNIST.fromFiles(rank2, labels)).rejects.toThrow(/rank2: IDX file has 2 dimensions, expected 3/);
    const extra = idxBytes([3, 2, 2], new Uint8Array(12));
    const trailing = writeFile(join(dir, 'trailing'), new Uint8Array([...extra, 9, 9]));
    await expect(datasets.MNIST.fromFiles(trailing, labels)).rejects.toThrow(/trailing: 2 unexpected bytes after the 3 records/);
    const two = writeFile(join(dir, 'two-images'), idxBytes([2, 2, 2], new Uint8Array(8)));
    await expect(datasets.MNIST.fromFiles(two, labels)).rejects.toThrow(/l3: 3 labels, but .*two-images has 2 images/);
    const three = writeFile(join(dir, 'three-images'), idxBytes([3, 2, 2], new Uint8Array(12)));
    const badLabels = writeFile(join(dir, 'bad-labels'), idxBytes([3], new Uint8Array([0, 10, 2])));
    await expect(datasets.MNIST.fromFiles(three, badLabels)).rejects.toThrow(
      /bad-labels: record 1: label 10 is out of range \[0, 9\]/,
    );
    const gz = writeFile(join(dir, 'corrupt.gz'), idxBytes([3, 2, 2], new Uint8Array(12)), true);
    const bytes = new Uint8Array(readFileSync(gz));
    writeFileSync(gz, bytes.subarray(0, bytes.length - 8));
    await expect(datasets.MNIST.fromFiles(gz, labels)).rejects.toThrow(/corrupt.gz: gzip data is corrupt or truncated/);
    const float = idxBytes([3, 2, 2], new Uint8Array(12));
    float[2] = 0x0d;
    const f = writeFile(join(dir, 'float-idx'), float);
    await expect(datasets.MNIST.fromFiles(f, labels)).rejects.toThrow(/float-idx: IDX data type 0xd is not supported/);
  });

  const debian = '/usr/share/datasets/fashion-mnist';
  it.skipIf(!existsSync(join(debian, 't10k-images-idx3-ubyte.gz')))(
    "reads Debian's dataset-fashion-mnist (skipped when the package is not installed)",
    async () => {
      const test = await datasets.FashionMNIST.fromDirectory(debian, { train: false });
      expect(test.length).toBe(10000);
      const counts = new Array(10).fill(0);
      for (let i = 0; i < test.length; i++) counts[(await test.raw(i)).label]++;
      expect(counts).toEqual(new Array(10).fill(1000));
      const { x, y } = await test.get(0);
      expect(x.shape).toEqual([1, 28, 28]);
      expect(y).toBe(9); // the first test image of Fashion-MNIST is an ankle boot
      const v = x.dataSync();
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
      expect(v.some((p) => p > 0.5)).toBe(true);
    },
  );
});

describe('CIFAR binary', () => {
  it('CIFAR-10: reads data_batch_1..5 in order, planar RGB records', async () => {
    const d = mkdir(join(dir, 'cifar10', 'cifar-10-batches-bin'));
    for (let b = 1; b <= 5; b++) writeFile(join(d, `data_batch_${b}.bin`), cifarBytes([[b], [b + 1], [(b * 3) % 10]]));
    writeFile(join(d, 'test_batch.bin'), cifarBytes([[9], [0]]));
    const train = await datasets.CIFAR10.fromDirectory(join(dir, 'cifar10'), { train: true, transform: new T.ToTensor() });
    expect(train.length).toBe(15);
    expect(train.classes[0]).toBe('airplane');
    const { x, y } = await train.get(4); // file 2, record 1
    expect(y).toBe(3);
    expect(x.shape).toEqual([3, 32, 32]);
    const v = x.dataSync();
    for (const i of [0, 1, 1023, 1024, 2047, 2048, 3071]) expect(v[i]).toBe(Math.fround(pattern(1, i) / 255));
    const test = await datasets.CIFAR10.fromDirectory(join(dir, 'cifar10'), { train: false });
    expect(test.length).toBe(2);
    expect((await test.raw(1)).label).toBe(0);
  });

  it('CIFAR-10: a truncated record and an out-of-range label name the file and record', async () => {
    const full = cifarBytes([[1], [2], [3]]);
    const f = writeFile(join(dir, 'trunc.bin'), full.subarray(0, full.length - 100));
    await expect(datasets.CIFAR10.fromFiles([f])).rejects.toThrow(
      /trunc.bin: truncated: record 2 is incomplete \(2973 of 3073 bytes/,
    );
    const g = writeFile(join(dir, 'label.bin'), cifarBytes([[1], [2], [12]]));
    await expect(datasets.CIFAR10.fromFiles([g])).rejects.toThrow(/label.bin: record 2: label 12 is out of range \[0, 9\]/);
    const e = writeFile(join(dir, 'empty.bin'), new Uint8Array(0));
    await expect(datasets.CIFAR10.fromFiles([e])).rejects.toThrow(/empty.bin: empty file/);
  });

  it('CIFAR-100: coarse and fine labels, ranges checked', async () => {
    const d = mkdir(join(dir, 'cifar100'));
    writeFile(
      join(d, 'train.bin'),
      cifarBytes([
        [19, 99],
        [0, 5],
      ]),
    );
    const fine = await datasets.CIFAR100.fromDirectory(d, { train: true });
    const coarse = await datasets.CIFAR100.fromDirectory(d, { train: true, labelType: 'coarse' });
    expect([(await fine.raw(0)).label, (await fine.raw(1)).label]).toEqual([99, 5]);
    expect([(await coarse.raw(0)).label, (await coarse.raw(1)).label]).toEqual([19, 0]);
    const { x } = await fine.get(1);
    expect(x.dataSync()[2048]).toBe(Math.fround(pattern(1, 2048) / 255));
    const bad = writeFile(
      join(dir, 'c100bad.bin'),
      cifarBytes([
        [0, 1],
        [20, 3],
      ]),
    );
    await expect(datasets.CIFAR100.fromFiles([bad])).rejects.toThrow(/c100bad.bin: record 1: label 20 is out of range \[0, 19\]/);
    const bad2 = writeFile(join(dir, 'c100bad2.bin'), cifarBytes([[0, 100]]));
    await expect(datasets.CIFAR100.fromFiles([bad2])).rejects.toThrow(
      /c100bad2.bin: record 0: label 100 is out of range \[0, 99\]/,
    );
  });
});

describe('in-memory arrays', () => {
  it('uint8 NHWC and float NCHW', async () => {
    const u8 = new Uint8Array(2 * 2 * 2 * 3).map((_, i) => i * 10);
    const ds = new datasets.ArrayDataset(u8, [1, 0], { shape: [2, 2, 2, 3], numClasses: 2 });
    const { x, y } = await ds.get(1);
    expect(y).toBe(0);
    expect(x.shape).toEqual([3, 2, 2]);
    // HWC -> CHW: channel 0 of image 1 is bytes 12, 15, 18, 21.
    expect(Array.from(x.dataSync().subarray(0, 4))).toEqual([120, 150, 180, 210].map((v) => Math.fround(v / 255)));
    const f32 = new Float32Array(2 * 1 * 2 * 2).map((_, i) => i / 8);
    const fd = new datasets.ArrayDataset(f32, [0, 1], { shape: [2, 1, 2, 2] });
    expect(Array.from((await fd.get(1)).x.dataSync())).toEqual([0.5, 0.625, 0.75, 0.875]);
    expect(() => new datasets.ArrayDataset(u8, [1, 5], { shape: [2, 2, 2, 3], numClasses: 2 })).toThrow(
      /ArrayDataset: record 1: label 5 is out of range/,
    );
    expect(() => new datasets.ArrayDataset(u8, [1], { shape: [2, 2, 2, 3] })).toThrow(/1 labels for 2 images/);
  });
});

describe('image folder (sharp)', () => {
  it('lists classes sorted, decodes PNG and JPEG, names an undecodable file and its record', async () => {
    const root = mkdir(join(dir, 'folder'));
    const px = new Uint8Array(4 * 5 * 3).map((_, i) => (i * 13) & 255);
    for (const cls of ['dog', 'cat']) mkdir(join(root, cls));
    await sharp(Buffer.from(px), { raw: { width: 5, height: 4, channels: 3 } })
      .png()
      .toFile(join(root, 'cat', 'a.png'));
    await sharp(Buffer.from(px), { raw: { width: 5, height: 4, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(join(root, 'dog', 'b.jpg'));
    writeFileSync(join(root, 'dog', 'c.png'), 'not a png');
    writeFileSync(join(root, 'dog', 'notes.txt'), 'ignored');
    const ds = await datasets.ImageFolder.fromDirectory(root);
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.length).toBe(3);
    const a = await ds.get(0);
    expect(a.y).toBe(0);
    expect(a.x.shape).toEqual([3, 4, 5]);
    // PNG is lossless: CHW of the HWC bytes, /255.
    const v = a.x.dataSync();
    for (let i = 0; i < 20; i++) for (let c = 0; c < 3; c++) expect(v[c * 20 + i]).toBe(Math.fround(px[i * 3 + c] / 255));
    const b = await ds.get(1);
    expect(b.y).toBe(1);
    expect(b.x.shape).toEqual([3, 4, 5]);
    await expect(ds.get(2)).rejects.toThrow(/dog\/c.png \(record 2\): cannot decode the image/);
    const gray = await datasets.ImageFolder.fromDirectory(root, { channels: 1 });
    expect((await gray.get(0)).x.shape).toEqual([1, 4, 5]);
  });
});
