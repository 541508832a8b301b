// `vireo eval`: accuracy, per-class precision / recall / F1 and the confusion matrix of a model
// directory on a dataset split (default: the test split of the data it was trained on).
import { resolve } from 'node:path';
import { DataLoader, type Tensor, evaluate, metrics } from '../index.js';
import type { Module } from '../nn/module.js';
import * as T from '../data/transforms.js';
import { type Io, UsageError, intOption, parseArgs } from './args.js';
import { Subset, detectData, openData, range } from './data.js';
import { type Classifier, type ClassifierMeta, forwardAnyBatch, loadClassifier } from './model-dir.js';
import { backendOption, choice, colours, printable, progress, toBackend } from './ui.js';

export const evalHelp = `usage: vireo eval [--model DIR] [--data DIR] [--split test|train] [--limit N] [--json]

Measures a model (a directory written by \`vireo train\` or \`vireo import\`) on a dataset: accuracy,
macro F1, per-class precision, recall and F1, and the confusion matrix (rows: true class, columns: predicted).

  --model DIR       the model directory (default ./vireo-model)
  --data DIR        the dataset (same formats as \`vireo train --data\`); default: the one the model was trained on
                    (required for an imported model)
  --split S         test (default) or train
  --limit N         only the first N images
  --batch-size N    images per forward (default 250)
  --backend B       auto (default; each layer where it runs fastest here: wasm on a CPU), wasm or reference
  --json            one JSON object: accuracy, macroF1, images, perClass [{class, precision, recall, f1, support}],
                    confusionMatrix`;

/** The eval-time transform of a model: resize to its input (image folders), scale, normalize (if it has one). */
export function modelTransform(
  meta: { inputShape: [number, number, number]; normalization: { mean: number[]; std: number[] } | null },
  resize: boolean,
): T.Transform {
  const list: T.Transform[] = [];
  if (resize) list.push(new T.Resize([meta.inputShape[1], meta.inputShape[2]]));
  list.push(new T.ToTensor());
  if (meta.normalization) list.push(new T.Normalize(meta.normalization.mean, meta.normalization.std));
  return new T.Compose(list);
}

/** The --model directory (default ./vireo-model), trained or imported. */
export async function loadModelOption(dir: string | undefined): Promise<Classifier & { dir: string }> {
  const path = resolve(dir ?? 'vireo-model');
  try {
    return { ...(await loadClassifier(path)), dir: path };
  } catch (e) {
    if (dir === undefined)
      throw new UsageError(
        `no model in ./vireo-model (${(e as Error).message}); train one with \`vireo train\` or pass --model DIR`,
      );
    throw e;
  }
}

export async function evalCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs(argv, {
    model: { type: 'string' },
    data: { type: 'string' },
    split: { type: 'string' },
    limit: { type: 'string' },
    'batch-size': { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(evalHelp);
    return 0;
  }
  const split = choice(values.split, 'split', ['test', 'train'] as const, 'test');
  const backend = backendOption(values.backend);
  const limit = values.limit === undefined ? null : intOption(values.limit, 'limit', 0, 1);
  const batchSize = intOption(values['batch-size'], 'batch-size', 250, 1);
  const { model, meta, dir } = await loadModelOption(values.model);
  if (values.data === undefined && meta.format === 'vireo-onnx')
    throw new UsageError(`${dir} holds an imported model, which has no training data on record: pass --data DIR`);
  const source = detectData(values.data ?? meta.trainedOn, meta.inputShape[1]);
  const data = await openData(source);
  const base = split === 'test' ? data.test : data.train;
  if (!base) throw new UsageError(`${data.label} has no test split; pass --split train or --data with a test split`);
  if (data.inputShape[0] !== meta.inputShape[0])
    throw new UsageError(`the model takes ${meta.inputShape[0]}-channel input, ${data.label} has ${data.inputShape[0]} channels`);
  if (data.classes.length !== meta.classes.length)
    throw new UsageError(`the model knows ${meta.classes.length} classes, ${data.label} has ${data.classes.length}`);
  const resize =
    source.kind === 'image-folder' || data.inputShape[1] !== meta.inputShape[1] || data.inputShape[2] !== meta.inputShape[2];
  const set = new Subset(base, range(limit ? Math.min(limit, base.length) : base.length), modelTransform(meta, resize));
  const result = await evaluateModel(model, meta, set, backend, batchSize, io, !values.json);
  const k = meta.classes.length;
  const perClass = meta.classes.map((name, c) => ({
    class: name,
    precision: result.precision[c],
    recall: result.recall[c],
    f1: result.f1[c],
    support: result.confusion[c].reduce((s, v) => s + v, 0),
  }));
  if (values.json) {
    io.out(
      JSON.stringify({
        model: dir,
        data: data.label,
        split,
        images: result.images,
        accuracy: result.accuracy,
        macroF1: result.macroF1,
        perClass,
        confusionMatrix: result.confusion,
      }),
    );
    return 0;
  }
  const ui = colours(io);
  // Human output: class names come from a file and may hold terminal escapes.
  const names = meta.classes.map(printable);
  io.out(
    `${ui.bold('vireo eval')}: ${printable(dir)} on ${data.label}, ${split} split, ${result.images} images (${result.seconds.toFixed(1)} s)`,
  );
  io.out(`accuracy ${ui.bold(result.accuracy.toFixed(4))}   macro F1 ${result.macroF1.toFixed(4)}`);
  const w = Math.max(5, ...names.map((c) => c.length));
  io.out('');
  io.out(`${'class'.padEnd(w)}  precision  recall     f1  support`);
  for (const [c, r] of perClass.entries())
    io.out(
      `${names[c].padEnd(w)}  ${r.precision.toFixed(4).padStart(9)}  ${r.recall.toFixed(4).padStart(6)}  ${r.f1.toFixed(4).padStart(6)}  ${String(r.support).padStart(7)}`,
    );
  io.out('');
  io.out('confusion matrix (rows: true class, columns: predicted, in class order)');
  const cw = Math.max(4, ...result.confusion.flat().map((v) => String(v).length)) + 1;
  io.out(
    `${''.padEnd(w)} ${range(k)
      .map((c) => String(c).padStart(cw))
      .join('')}`,
  );
  result.confusion.forEach((row, r) =>
    io.out(
      `${names[r].padEnd(w)} ${row.map((v, c) => (r === c ? ui.green : (s: string) => s)(String(v).padStart(cw))).join('')}`,
    ),
  );
  return 0;
}

export async function evaluateModel(
  model: Module,
  meta: Pick<ClassifierMeta, 'classes' | 'batch'>,
  set: Subset,
  backend: string,
  batchSize: number,
  io: Io,
  showProgress: boolean,
) {
  await toBackend(model, backend, io);
  model.eval();
  const loader = new DataLoader(set, { batchSize, numWorkers: 0 });
  const cm = new metrics.ConfusionMatrix(meta.classes.length);
  const bar = progress(io, showProgress);
  bar.start(loader.length, 'evaluating');
  let done = 0;
  const counted = {
    async *[Symbol.asyncIterator]() {
      for await (const b of loader) {
        yield b;
        bar.update(++done);
      }
    },
  };
  try {
    // A model whose file fixes its batch size runs in chunks of that size (the argmax is the same for
    // probabilities as for logits, so scores go to the metrics as they are).
    const scored =
      meta.batch === null
        ? model
        : {
            forward: (x: Tensor) => forwardAnyBatch(model, x, meta.batch),
            train: () => model,
            eval: () => model.eval(),
            parameters: () => model.parameters(),
            training: false,
          };
    const r = await evaluate(scored, counted, [cm, new metrics.Accuracy()]);
    const confusion = cm.compute();
    const score = (kind: 'precision' | 'recall' | 'f1') => metrics.classificationScore(cm, kind, 'none') as number[];
    return {
      images: r.images,
      seconds: r.seconds,
      accuracy: r.metrics.accuracy as number,
      macroF1: metrics.classificationScore(cm, 'f1', 'macro') as number,
      precision: score('precision'),
      recall: score('recall'),
      f1: score('f1'),
      confusion,
    };
  } finally {
    bar.stop();
    await loader.close();
    model.releasePlans();
  }
}
