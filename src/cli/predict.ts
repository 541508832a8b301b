// `vireo predict FILE…`: the top-k classes of images (PNG/JPEG/…, decoded by the data pipeline's
// decoders) or of every image in a dataset file (IDX images, CIFAR-10/100 .bin), with a model directory.
import { existsSync, statSync } from 'node:fs';
import { parseArgs as nodeParseArgs } from 'node:util';
import { basename } from 'node:path';
import { DataLoader } from '../index.js';
import { CIFAR10, CIFAR100 } from '../data/cifar.js';
import { Dataset } from '../data/dataset.js';
import { FormatError } from '../core/errors.js';
import { checkRegularFile, readRegularFile } from '../io/read-file.js';
import { readIdxFile } from '../data/idx.js';
import { imageExtensions } from '../data/image-folder.js';
import type { RawSample } from '../data/sample.js';
import { type Io, UsageError, intOption, joinNegativeValues } from './args.js';
import { loadModelOption, modelTransform } from './eval.js';
import { forwardAnyBatch } from './model-dir.js';
import { topK } from './sample.js';
import { backendOption, colours, printable, toBackend } from './ui.js';

export const predictHelp = `usage: vireo predict FILE… [--model DIR] [--top K] [--limit N] [--json]

Prints the top-K classes of each FILE with a model directory (written by \`vireo train\` or
\`vireo import\`). A FILE is an image (PNG, JPEG, WebP, …: resized to the model's input size) or a dataset
file: IDX images (t10k-images-idx3-ubyte[.gz]) or a CIFAR-10/100 binary batch (.bin), whose every image is
classified. Probabilities are the softmax of the model's outputs (its outputs as they are when it ends
with a softmax).

  --model DIR     the model directory (default ./vireo-model)
  --top K         classes to show per image (default 3)
  --limit N       at most N images per dataset file
  --backend B     auto (default; each layer where it runs fastest here: wasm on a CPU), wasm or reference
  --json          one JSON object per image: file, index (dataset files), top [{label, index, probability}]`;

interface Item {
  file: string;
  index?: number;
  sample: RawSample;
}

class Items extends Dataset {
  readonly length: number;
  constructor(readonly items: Item[]) {
    super();
    this.length = items.length;
  }
  raw(index: number): RawSample {
    return this.items[index].sample;
  }
}

/** Largest image file predict reads (a 100-megapixel PNG is far below it). */
export const maxImageFileBytes = 256 * 1024 ** 2;
/** Largest dataset file (IDX / CIFAR batch) predict reads. */
export const maxDatasetFileBytes = 2 * 1024 ** 3;

async function itemsOf(file: string, channels: number, numClasses: number, limit: number | null): Promise<Item[]> {
  // Missing, or a dangling or looping link: the open names which (existsSync says only "false").
  if (!existsSync(file)) await asUsage(() => checkRegularFile(file, Number.POSITIVE_INFINITY));
  if (statSync(file).isDirectory())
    throw new UsageError(`${file}: a directory; give image or dataset files (vireo eval --data measures a whole dataset)`);
  const name = basename(file).toLowerCase();
  const dataset = /idx3-ubyte(\.gz)?$/.test(name) || name.endsWith('.bin');
  // Only regular files, of a bounded size: a FIFO, a link to /dev/zero or a link loop is named, not read.
  if (dataset) await asUsage(() => checkRegularFile(file, maxDatasetFileBytes));
  const cap = (n: number) => (limit ? Math.min(limit, n) : n);
  if (/idx3-ubyte(\.gz)?$/.test(name)) {
    const idx = await readIdxFile(file, 3);
    const [n, h, w] = idx.dims;
    return Array.from({ length: cap(n) }, (_, i) => ({
      file,
      index: i,
      sample: {
        image: { kind: 'u8' as const, data: idx.data.subarray(i * h * w, (i + 1) * h * w), height: h, width: w, channels: 1 },
        label: 0,
      },
    }));
  }
  if (name.endsWith('.bin')) {
    const ds = numClasses === 100 ? await CIFAR100.fromFiles([file]) : await CIFAR10.fromFiles([file]);
    return Array.from({ length: cap(ds.length) }, (_, i) => ({ file, index: i, sample: { ...ds.raw(i), label: 0 } }));
  }
  if (imageExtensions.some((e) => name.endsWith(e)))
    return [{ file, sample: { image: { kind: 'encoded', data: await readImage(file), source: file, channels }, label: 0 } }];
  throw new UsageError(
    `${file}: not an image (${imageExtensions.join(', ')}) nor a dataset file (*-idx3-ubyte[.gz], CIFAR *.bin)`,
  );
}

/** A file the user named that cannot be read as one is bad usage (exit 2), named as the open found it. */
async function asUsage<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(e.message);
    throw e;
  }
}

const readImage = (file: string) => asUsage(() => readRegularFile(file, maxImageFileBytes));

export async function predictCommand(argv: string[], io: Io): Promise<number> {
  const options = {
    model: { type: 'string' },
    top: { type: 'string' },
    limit: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  let parsed: ReturnType<typeof nodeParseArgs<{ args: string[]; strict: true; allowPositionals: true; options: typeof options }>>;
  try {
    parsed = nodeParseArgs({
      args: joinNegativeValues(argv, options),
      strict: true,
      allowPositionals: true,
      options,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(predictHelp);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('give at least one image or dataset file');
  const backend = backendOption(values.backend);
  const limit = values.limit === undefined ? null : intOption(values.limit, 'limit', 0, 1);
  const { model, meta } = await loadModelOption(values.model);
  const k = Math.min(intOption(values.top, 'top', 3, 1), meta.classes.length);
  const [c, h, w] = meta.inputShape;
  const items: Item[] = [];
  for (const file of positionals) items.push(...(await itemsOf(file, c, meta.classes.length, limit)));
  for (const it of items) {
    const img = it.sample.image;
    if (img.kind !== 'encoded' && img.channels !== c)
      throw new UsageError(`${it.file}: ${img.channels}-channel images, the model takes ${c} channels`);
  }
  // Items of different sizes are resized to the model's input; same-size raw pixels need no resize.
  const needsResize = items.some(
    (it) =>
      it.sample.image.kind === 'encoded' ||
      (it.sample.image as { height: number }).height !== h ||
      (it.sample.image as { width: number }).width !== w,
  );
  const set = new Items(items);
  set.transform = modelTransform(meta, needsResize);
  await toBackend(model, backend, io);
  model.eval();
  const loader = new DataLoader(set, { batchSize: needsResize ? 1 : 250, numWorkers: 0 });
  const ui = colours(io);
  try {
    let at = 0;
    for await (const { x } of loader) {
      const logits = await (await forwardAnyBatch(model, x, meta.batch)).data();
      const n = x.shape[0];
      const classes = logits.length / n;
      for (let i = 0; i < n; i++, at++) {
        const it = items[at];
        const top = topK(logits.subarray(i * classes, (i + 1) * classes), meta.classes, k, meta.probabilities);
        if (values.json) io.out(JSON.stringify({ file: it.file, ...(it.index !== undefined ? { index: it.index } : {}), top }));
        else {
          const where = printable(it.index !== undefined ? `${it.file}[${it.index}]` : it.file);
          io.out(
            `${where}: ${top.map((t, j) => `${j === 0 ? ui.bold(printable(t.label)) : printable(t.label)} ${(100 * t.probability).toFixed(1)}%`).join('  ')}`,
          );
        }
      }
    }
  } finally {
    await loader.close();
    model.releasePlans();
  }
  return 0;
}
