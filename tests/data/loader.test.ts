import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DataBatch, DataLoader, Random, VireoError, transforms as T, datasets } from '../../src/index.js';
import { defaultWorkerCount } from '../../src/data/pool.js';
import { cifarBytes, mkdir, tempDir } from '../helpers/data-files.js';

function cifarLike(n: number, seed: number): InstanceType<typeof datasets.ArrayDataset> {
  const r = new Random(seed);
  const images = Uint8Array.from({ length: n * 32 * 32 * 3 }, () => r.int(256));
  return new datasets.ArrayDataset(
    images,
    Array.from({ length: n }, (_, i) => (i * 7) % 10),
    { shape: [n, 32, 32, 3], numClasses: 10 },
  );
}

/** The pipeline (smaller output so the test stays quick), with every random transform in it. */
function pipeline(size = 48): InstanceType<typeof T.Compose> {
  return new T.Compose([
    new T.RandomResizedCrop(40, { scale: [0.5, 1] }),
    new T.Resize([size, size]),
    new T.RandomHorizontalFlip(),
    new T.RandomVerticalFlip(),
    new T.RandomRotation(20),
    new T.RandomAffine(10, { translate: [0.1, 0.1], scale: [0.9, 1.1], interpolation: 'bilinear' }),
    new T.RandomCrop(size, { padding: 4 }),
    new T.ColorJitter({ brightness: 0.3, contrast: 0.3 }),
    new T.ToTensor(),
    new T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
  ]);
}

async function collect(
  loader: DataLoader,
): Promise<{ x: Float32Array; y: Float32Array; shape: readonly number[]; indices: number[] }[]> {
  const out = [];
  for await (const b of loader) out.push({ x: b.x.dataSync(), y: b.y.dataSync(), shape: b.x.shape, indices: b.indices });
  return out;
}

describe('DataLoader', () => {
  it('batches, labels, dropLast, length, seeded per-epoch shuffle covering every sample once', async () => {
    const ds = cifarLike(10, 1);
    const plain = new DataLoader(ds, { batchSize: 4 });
    const batches = await collect(plain);
    expect(plain.length).toBe(3);
    expect(batches.map((b) => b.shape)).toEqual([
      [4, 3, 32, 32],
      [4, 3, 32, 32],
      [2, 3, 32, 32],
    ]);
    expect(Array.from(batches[0].y)).toEqual([0, 7, 4, 1]);
    expect(batches[2].indices).toEqual([8, 9]);
    const drop = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(drop.length).toBe(2);
    expect((await collect(drop)).length).toBe(2);
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 });
    const e0 = (await collect(a)).flatMap((b) => b.indices);
    const e1 = (await collect(a)).flatMap((b) => b.indices);
    expect([...e0].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e0).not.toEqual(e1); // a new order every epoch
    const b = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 });
    expect((await collect(b)).flatMap((x) => x.indices)).toEqual(e0); // same seed, same order
    expect(b.batchIndices(1).flat()).toEqual(e1);
  });

  it('a batch is bit-identical with 0, 1 and 2 workers (draws seeded by seed, epoch, sample index)', async () => {
    const ds = cifarLike(12, 2);
    ds.transform = pipeline();
    const runs = [];
    for (const numWorkers of [0, 1, 2]) {
      const loader = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 3, numWorkers, prefetch: 2 });
      runs.push([...(await collect(loader)), ...(await collect(loader))]);
      await loader.close();
    }
    expect(runs[0][0].shape).toEqual([5, 3, 48, 48]);
    for (const r of runs.slice(1)) {
      expect(r.length).toBe(runs[0].length);
      r.forEach((b, i) => {
        expect(b.indices).toEqual(runs[0][i].indices);
        expect(
          Buffer.compare(
            Buffer.from(b.x.buffer, b.x.byteOffset, b.x.byteLength),
            Buffer.from(runs[0][i].x.buffer, runs[0][i].x.byteOffset, runs[0][i].x.byteLength),
          ),
        ).toBe(0);
        expect(Array.from(b.y)).toEqual(Array.from(runs[0][i].y));
      });
    }
    // Augmentation differs across epochs and samples, and equals dataset.get with the same (seed, epoch).
    const i0 = runs[0][0].indices[0];
    const n = 3 * 48 * 48;
    const again = await ds.get(i0, { seed: 3, epoch: 0 });
    expect(Array.from(again.x.dataSync())).toEqual(Array.from(runs[0][0].x.subarray(0, n)));
    const epoch1 = await ds.get(i0, { seed: 3, epoch: 1 });
    expect(Array.from(epoch1.x.dataSync())).not.toEqual(Array.from(again.x.dataSync()));
  });

  it('with workers the next epoch starts ahead; setEpoch to another epoch drops those batches', async () => {
    const ds = cifarLike(10, 3);
    ds.transform = pipeline();
    const main = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 2 });
    main.setEpoch(5);
    const want = await collect(main);
    const pooled = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 2, numWorkers: 2, prefetch: 3 });
    await collect(pooled); // epoch 0: its tail starts epoch 1 ahead
    pooled.setEpoch(5);
    const got = await collect(pooled);
    await pooled.close();
    expect(got.map((b) => b.indices)).toEqual(want.map((b) => b.indices));
    expect(got.map((b) => Array.from(b.x))).toEqual(want.map((b) => Array.from(b.x)));
  });

  it('image folders decode inside the workers, same result as on the main thread', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = new Random(4);
      for (const cls of ['a', 'b']) {
        mkdir(join(dir, cls));
        for (let k = 0; k < 3; k++) {
          const px = Buffer.from(Uint8Array.from({ length: 9 * 11 * 3 }, () => r.int(256)));
          await sharp(px, { raw: { width: 11, height: 9, channels: 3 } })
            .png()
            .toFile(join(dir, cls, `${k}.png`));
        }
      }
      const ds = await datasets.ImageFolder.fromDirectory(dir, {
        transform: new T.Compose([new T.Resize([16, 16]), new T.RandomRotation(30), new T.ToTensor()]),
      });
      const main = await collect(new DataLoader(ds, { batchSize: 4, seed: 9 }));
      const pooled = new DataLoader(ds, { batchSize: 4, seed: 9, numWorkers: 2 });
      const viaWorkers = await collect(pooled);
      await pooled.close();
      expect(viaWorkers.map((b) => Array.from(b.x))).toEqual(main.map((b) => Array.from(b.x)));
      expect(Array.from(main[0].y)).toEqual([0, 0, 0, 1]);
      writeFileSync(join(dir, 'b', '9.png'), 'broken');
      const broken = await datasets.ImageFolder.fromDirectory(dir);
      const loader = new DataLoader(broken, { batchSize: 7, numWorkers: 1 });
      await expect(collect(loader)).rejects.toThrow(/b\/9.png \(record 6\): cannot decode the image/);
      await loader.close();
    } finally {
      cleanup();
    }
  });

  it('a worker that dies is replaced and its chunk retried once; a second death names the sample indices', async () => {
    const ds = cifarLike(8, 3);
    ds.transform = pipeline(32);
    const reference = await collect(new DataLoader(ds, { batchSize: 8, seed: 1 }));
    const once = new DataLoader(ds, { batchSize: 8, seed: 1, numWorkers: 2, debugWorkerFault: { exitOnSample: 5, attempts: 1 } });
    const recovered = await collect(once);
    expect(Array.from(recovered[0].x)).toEqual(Array.from(reference[0].x));
    await once.close();
    const twice = new DataLoader(ds, {
      batchSize: 8,
      seed: 1,
      numWorkers: 2,
      debugWorkerFault: { exitOnSample: 5, attempts: 2 },
    });
    const err = await collect(twice).catch((e) => e);
    expect(err).toBeInstanceOf(VireoError);
    expect(err.message).toMatch(/data worker died twice on samples \[4, 5, 6, 7\] \(data worker exited with code 70\)/);
    await twice.close();
  });

  it('a worker that dies with batches queued on it: each is retried once on its replacement, none is lost', async () => {
    const ds = cifarLike(32, 4);
    ds.transform = pipeline(32);
    const reference = await collect(new DataLoader(ds, { batchSize: 4, seed: 6 }));
    // 8 batches, up to 4 in flight, two queued per worker: sample 13's worker exits once.
    const loader = new DataLoader(ds, {
      batchSize: 4,
      seed: 6,
      numWorkers: 2,
      debugWorkerFault: { exitOnSample: 13, attempts: 1 },
    });
    const got = [...(await collect(loader)), ...(await collect(loader))];
    await loader.close();
    const epoch1 = new DataLoader(ds, { batchSize: 4, seed: 6 });
    epoch1.setEpoch(1);
    const again = await collect(epoch1);
    expect(got.map((b) => b.indices)).toEqual([...reference, ...again].map((b) => b.indices));
    expect(got.map((b) => Array.from(b.x))).toEqual([...reference, ...again].map((b) => Array.from(b.x)));
  });

  it('close() during an epoch ends the workers and fails the batches still in flight', async () => {
    const ds = cifarLike(64, 8);
    ds.transform = pipeline(64);
    const loader = new DataLoader(ds, { batchSize: 4, numWorkers: 2, prefetch: 4 });
    const it = loader[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const pending = it.next(); // batches in flight on the workers
    await loader.close();
    const settled = await pending.then(
      (r) => (r.done ? 'done' : 'a batch finished before close'),
      (e: Error) => e.message,
    );
    // Either the batch was already complete, or it fails with the close; it never hangs.
    expect(settled).toMatch(/closed while a batch was in flight|a batch finished before close/);
    const fresh = new DataLoader(ds, { batchSize: 4, numWorkers: 2 });
    const first = fresh[Symbol.asyncIterator]().next();
    await fresh.close();
    await expect(first).rejects.toThrow(/closed while a batch was in flight/);
    await expect(collect(loader)).rejects.toThrow(/iterated after close/);
  });

  it('errors: a custom transform cannot go to workers; samples of different sizes in one batch', async () => {
    class Invert extends T.Transform {
      apply(_ctx: never, img: never) {
        return img;
      }
      spec() {
        return { name: 'Invert', args: [] };
      }
    }
    const ds = cifarLike(4, 9);
    ds.transform = new T.Compose([new Invert(), new T.ToTensor()]);
    expect((await collect(new DataLoader(ds, { batchSize: 2 }))).length).toBe(2); // fine on this thread
    const pooled = new DataLoader(ds, { batchSize: 2, numWorkers: 1 });
    await expect(collect(pooled)).rejects.toThrow(/transform 'Invert' cannot run in a worker .* use numWorkers: 0/);
    await pooled.close();
    const { dir, cleanup } = tempDir();
    try {
      mkdir(join(dir, 'x'));
      await sharp(Buffer.alloc(4 * 4 * 3), { raw: { width: 4, height: 4, channels: 3 } })
        .png()
        .toFile(join(dir, 'x', 'a.png'));
      await sharp(Buffer.alloc(5 * 4 * 3), { raw: { width: 5, height: 4, channels: 3 } })
        .png()
        .toFile(join(dir, 'x', 'b.png'));
      const mixed = await datasets.ImageFolder.fromDirectory(dir);
      await expect(collect(new DataLoader(mixed, { batchSize: 2 }))).rejects.toThrow(
        /sample 1 is \[3, 4, 5\] after the transforms but sample 0 .* \[3, 4, 4\]; add a Resize or CenterCrop/,
      );
      for (const numWorkers of [0, 1]) {
        // Batches of different shapes are fine (the shared output buffer is sized per batch).
        const loader = new DataLoader(mixed, { batchSize: 1, numWorkers });
        expect((await collect(loader)).map((b) => b.shape)).toEqual([
          [1, 3, 4, 4],
          [1, 3, 4, 5],
        ]);
        await loader.close();
      }
    } finally {
      cleanup();
    }
  });

  it('released batches are written again (same memory, same batches); reading one afterwards throws', async () => {
    const ds = cifarLike(80, 12);
    ds.transform = pipeline(40);
    for (const numWorkers of [0, 2]) {
      const plain = await collect(new DataLoader(ds, { batchSize: 4, seed: 2, numWorkers }));
      for (const mode of ['release', 'reuseBuffers'] as const) {
        const loader = new DataLoader(ds, { batchSize: 4, seed: 2, numWorkers, reuseBuffers: mode === 'reuseBuffers' });
        const buffers = new Set<ArrayBufferLike>();
        const seen: DataBatch[] = [];
        let k = 0;
        for await (const batch of loader) {
          const what = `batch ${k}, ${numWorkers} workers, ${mode}`;
          expect(Array.from(batch.x.dataSync()), what).toEqual(Array.from(plain[k].x));
          expect(Array.from(batch.y.dataSync()), what).toEqual(Array.from(plain[k++].y));
          buffers.add(batch.x.dataSync().buffer);
          seen.push(batch);
          if (mode === 'release') batch.release();
        }
        await loader.close();
        expect(k).toBe(20);
        expect(buffers.size, `${numWorkers} workers, ${mode}`).toBeLessThan(20);
        // reuseBuffers released every batch but the last two; release() all of them.
        const released = mode === 'release' ? seen : seen.slice(0, -2);
        for (const b of released) {
          expect(b.x.isDisposed).toBe(true);
          expect(() => b.x.dataSync()).toThrow(/tensor \[4, 3, 40, 40\] was disposed/);
        }
        if (mode === 'reuseBuffers') expect(seen.at(-1)?.x.isDisposed).toBe(false);
      }
    }
  });

  it('the scalar, simd and relaxed builds make the same batches (no fused or relaxed ops in the image kernels)', async () => {
    const ds = cifarLike(6, 13);
    ds.transform = pipeline(36);
    const runs = [];
    for (const build of ['scalar', 'simd', 'relaxed'] as const)
      runs.push(await collect(new DataLoader(ds, { batchSize: 3, seed: 4, build })));
    for (const r of runs.slice(1)) r.forEach((b, i) => expect(Array.from(b.x)).toEqual(Array.from(runs[0][i].x)));
  });

  it('the default pool size is cores - 1, at least 1', async () => {
    expect(await defaultWorkerCount()).toBe(Math.max(1, availableParallelism() - 1));
  });

  it('a process that used the pool exits on its own, with or without close()', () => {
    const script = (close: boolean) => `
      import { DataLoader, datasets, transforms as T } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)};
      const ds = new datasets.ArrayDataset(new Uint8Array(6 * 8 * 8 * 3), [0, 1, 2, 3, 4, 5], { shape: [6, 8, 8, 3], numClasses: 10 });
      ds.transform = new T.Compose([new T.RandomHorizontalFlip(), new T.ToTensor()]);
      const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 2 });
      let n = 0;
      for await (const b of loader) n += b.x.shape[0];
      ${close ? 'await loader.close();' : ''}
      console.log('samples', n);
    `;
    for (const close of [true, false]) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(close)], {
        timeout: 30_000,
        encoding: 'utf8',
      });
      expect(out.trim()).toBe('samples 6');
    }
  });
});

describe("the issue's pipeline, as written", () => {
  it('CIFAR-10 from a directory, Resize 224, flips, rotation, normalize, 2 workers, batch 64', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (let b = 1; b <= 5; b++)
        writeFileSync(join(dir, `data_batch_${b}.bin`), cifarBytes(Array.from({ length: 14 }, (_, i) => [(b + i) % 10])));
      const transform = new T.Compose([
        new T.Resize([224, 224]),
        new T.RandomHorizontalFlip(),
        new T.RandomVerticalFlip(),
        new T.RandomRotation(20),
        new T.ToTensor(),
        new T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
      ]);
      const train = await datasets.CIFAR10.fromDirectory(dir, { train: true, transform });
      const loader = new DataLoader(train, { batchSize: 64, shuffle: true, numWorkers: 2, seed: 1 });
      const shapes = [];
      for await (const { x, y } of loader) {
        shapes.push(x.shape);
        expect(y.shape).toEqual([x.shape[0]]);
        expect(x.dataSync().every(Number.isFinite)).toBe(true);
      }
      await loader.close();
      expect(shapes).toEqual([
        [64, 3, 224, 224],
        [6, 3, 224, 224],
      ]);
    } finally {
      cleanup();
    }
  });
});

describe('random transforms', () => {
  let ds: InstanceType<typeof datasets.ArrayDataset>;
  beforeAll(() => {
    ds = cifarLike(4, 6);
  });
  afterAll(() => {
    ds.transform = null;
  });

  async function apply(t: InstanceType<typeof T.Transform> | null, index = 0, seed = 0) {
    ds.transform = t;
    return (await ds.get(index, { seed })).x;
  }

  it('flips with p=1 and p=0, rotation by a drawn angle, spec round trip', async () => {
    const base = (await apply(new T.ToTensor())).dataSync();
    const flipped = (await apply(new T.Compose([new T.RandomHorizontalFlip(1), new T.ToTensor()]))).dataSync();
    expect(flipped[0]).toBe(base[31]);
    expect(flipped[32 * 5 + 3]).toBe(base[32 * 5 + 28]);
    expect(Array.from((await apply(new T.Compose([new T.RandomVerticalFlip(0), new T.ToTensor()]))).dataSync())).toEqual(
      Array.from(base),
    );
    const vf = (await apply(new T.Compose([new T.RandomVerticalFlip(1), new T.ToTensor()]))).dataSync();
    expect(vf[0]).toBe(base[31 * 32]);
    const t = new T.Compose([
      new T.RandomRotation([-30, 30], { interpolation: 'bilinear' }),
      new T.RandomAffine(5, { translate: [0.2, 0.1], shear: 4 }),
      new T.ColorJitter({ brightness: 0.5, contrast: 0.2 }),
      new T.ToTensor(),
    ]);
    const rebuilt = T.transformFromSpec(JSON.parse(JSON.stringify(t.spec())));
    expect(Array.from((await apply(rebuilt, 2, 7)).dataSync())).toEqual(Array.from((await apply(t, 2, 7)).dataSync()));
  });

  it('RandomResizedCrop, RandomCrop with padding, CenterCrop and Resize(int) give the sizes torchvision gives', async () => {
    expect((await apply(new T.RandomResizedCrop([20, 24]))).shape).toEqual([3, 20, 24]);
    expect((await apply(new T.RandomCrop(32, { padding: 4 }))).shape).toEqual([3, 32, 32]);
    expect((await apply(new T.CenterCrop(40))).shape).toEqual([3, 40, 40]);
    expect((await apply(new T.CenterCrop([10, 12]))).shape).toEqual([3, 10, 12]);
    expect((await apply(new T.Compose([new T.CenterCrop([16, 32]), new T.Resize(8)]))).shape).toEqual([3, 8, 16]);
    const t = new T.RandomResizedCrop(8, { scale: [0.2, 0.6] });
    const r = new Random(3);
    for (let k = 0; k < 50; k++) {
      const [i, j, h, w] = t.params(30, 40, r);
      expect(i >= 0 && j >= 0 && i + h <= 30 && j + w <= 40).toBe(true);
      expect(h * w).toBeLessThanOrEqual(0.6 * 1200 * 1.2);
    }
    // A 4-pixel pad then a 32 crop: every output row is a shifted input row or zeros.
    const padded = (await apply(new T.Compose([new T.RandomCrop(32, { padding: 4 }), new T.ToTensor()]), 1, 11)).dataSync();
    const orig = (await apply(new T.ToTensor(), 1)).dataSync();
    const row = Array.from(padded.subarray(32 * 16, 32 * 17));
    const nonzero = row.filter((v) => v !== 0);
    expect(nonzero.length).toBeGreaterThan(20);
    const origRows = Array.from({ length: 32 }, (_, y) => Array.from(orig.subarray(y * 32, y * 32 + 32)).join(','));
    expect(origRows.some((o) => o.includes(nonzero.slice(0, 10).join(',')))).toBe(true);
  });

  it('rejects options it does not implement instead of ignoring them', () => {
    expect(() => new T.Resize(10, { antialias: true })).toThrow(/antialias=true is not supported/);
    expect(() => new T.ColorJitter({ hue: 0.1 })).toThrow(/saturation and hue are not supported/);
    expect(() => new T.RandomCrop(4, { paddingMode: 'reflect' as 'constant' })).toThrow(/paddingMode 'reflect' is not supported/);
  });
});
