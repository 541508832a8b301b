// `vireo train`: trains a model on a dataset, writing the model directory and a checkpoint after every
// epoch; `--resume DIR` continues bit for bit; Ctrl-C saves a checkpoint before exiting.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DataLoader, FormatError, fit as fitModel, manualSeed, metrics, nn } from '../index.js';
import { type Checkpoint, encodeCheckpoint, loadCheckpoint } from '../io/checkpoint.js';
import { machineCores } from '../data/pool.js';
import { settleDirectory, writeDirectoryAtomic } from '../io/directory.js';
import { checkPlanMemory } from '../io/model-check.js';
import { encodeModel, loadModel, modelFileEntries } from '../io/model-file.js';
import { loadClassifier } from './model-dir.js';
import { chooseTrainable, importedEntries, peekImported } from './train-imported.js';
import type { Module } from '../nn/module.js';
import type { Batch } from '../train/batches.js';
import type { EpochRecord } from '../train/trainer.js';
import { type Io, UsageError, intOption, parseArgs } from './args.js';
import {
  type TrainConfig,
  checkOptimizerGroups,
  checkedConfig,
  configFrom,
  makeOptimizer,
  makeSchedule,
} from './train-config.js';
import { type DataSource, Subset, detectData, makeTransform, openData, range, splitIndices } from './data.js';
import { claimOutputDir } from './out-dir.js';
import { backendOption, colours, progress, toBackend } from './ui.js';
import { type BuiltinModel, buildModel, builtinModels, parameterCount } from './zoo.js';

export const trainHelp = `usage: vireo train [options]

Trains a CNN and writes a model directory (model.json + weights.safetensors, PyTorch state_dict names)
and a checkpoint (checkpoint.safetensors) to --out after every epoch. With no options: the embedded
Fashion-MNIST subset (6,000 train / 1,000 test images) and the 'small-cnn' model, 3 epochs.

  --data DIR          a CIFAR-10/100 binary folder, an IDX folder (e.g. /usr/share/datasets/fashion-mnist)
                      or an image folder (one subfolder per class; train/ and test/ subfolders are used
                      when present); default: the embedded Fashion-MNIST subset
  --model M           small-cnn (default), cifar-net (the reference CNN), or a model directory to continue from:
                      one \`vireo train\` wrote, or one \`vireo import\` wrote (fine-tunes the imported network at its
                      input size and normalization; the data must have as many classes as its output)
  --freeze-backbone   train only the last layer (the head); batch norms before it keep their statistics
  --train-from NAME   train the parameter named NAME… (state-dict order, a prefix) and every one after it
  --epochs N          epochs to train (default 3)
  --batch-size N      images per step (default 64)
  --optimizer O       adamw (default), adam or sgd
  --lr X              peak learning rate (default 0.003 for adam/adamw, 0.05 for sgd)
  --momentum X        SGD momentum (default 0.9)
  --weight-decay X    weight decay (default 0.0001)
  --schedule S        onecycle (default, per batch), cosine (per epoch) or none
  --clip-norm X       clip the gradients' global L2 norm to X
  --augment           random crop (padded) and horizontal flip
  --val-split F       validate on a seeded fraction F of the training set instead of the test split
  --image-size N      image folders: resize to N×N (default 32)
  --limit N           use only the first N training (and validation) images: quick trials and tests
  --workers N         data-loading worker threads (default 0: on this thread)
  --backend B         auto (default; each layer where it runs fastest here: wasm on a CPU), wasm or reference
  --seed N            seeds the weights, the shuffles and the augmentation (default 1)
  --out DIR           where the model and checkpoint go (default ./vireo-model); a directory that
                      already holds another model is refused unless --force
  --force             replace the model in --out (it stays until this run's first save)
  --resume DIR        continue the run whose checkpoint is in DIR (--epochs may raise the total)
  --stop-after N      train at most N epochs in this invocation, then stop with a checkpoint (time-sliced
                      training; --resume continues exactly where it stopped)
  --json              one JSON object per epoch on stdout: epoch, loss, valAccuracy, valMacroF1,
                      imagesPerSecond, seconds

Ctrl-C stops after the current step and saves a checkpoint; \`vireo train --resume DIR\` continues it.`;

const runOptions = [
  'data',
  'model',
  'batch-size',
  'optimizer',
  'lr',
  'momentum',
  'weight-decay',
  'schedule',
  'clip-norm',
  'augment',
  'val-split',
  'image-size',
  'limit',
  'seed',
  'freeze-backbone',
  'train-from',
];

const optionSpec = {
  data: { type: 'string' },
  model: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  schedule: { type: 'string' },
  'clip-norm': { type: 'string' },
  augment: { type: 'boolean' },
  'val-split': { type: 'string' },
  'image-size': { type: 'string' },
  limit: { type: 'string' },
  workers: { type: 'string' },
  backend: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  resume: { type: 'string' },
  'stop-after': { type: 'string' },
  'freeze-backbone': { type: 'boolean' },
  'train-from': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class Interrupted extends Error {}

export const checkpointFile = 'checkpoint.safetensors';

export async function trainCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs(argv, optionSpec);
  if (values.help) {
    io.out(trainHelp);
    return 0;
  }
  // Ctrl-C is caught from the start: Node's default action would end the process at once, before the
  // handler of the training loop existed. A signal during data loading still ends with a checkpoint.
  const signal = { interrupted: false };
  const onSigint = () => {
    if (signal.interrupted) {
      io.err('vireo train: interrupted twice, exiting without saving');
      process.exit(130);
    }
    signal.interrupted = true;
    io.err('\nvireo train: stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  let status = 1;
  try {
    status = await train(values, io, signal);
    return status;
  } finally {
    process.off('SIGINT', onSigint);
    // Everything is saved; the process may still take a moment to wind down (worker threads closing). A
    // Ctrl-C then ends it with the command's own status, not Node's default death by signal.
    lateStatus = status;
    if (!process.listeners('SIGINT').includes(onLateSigint)) process.on('SIGINT', onLateSigint);
  }
}

let lateStatus = 1;
const onLateSigint = () => process.exit(lateStatus);

type TrainValues = ReturnType<typeof parseArgs<typeof optionSpec>>['values'];

async function train(values: TrainValues, io: Io, signal: { interrupted: boolean }): Promise<number> {
  const backend = backendOption(values.backend);
  let workers = intOption(values.workers, 'workers', 0, 0);
  const json = Boolean(values.json);
  const ui = colours(io);
  const log = (line: string) => (json ? io.err(line) : io.out(line));
  const cores = await machineCores();
  if (workers > cores) {
    log(`note: --workers ${workers} is more than this machine's ${cores} cores; using ${cores}`);
    workers = cores;
  }

  // The run's definition: fresh from the options, or the checkpoint's.
  let config: TrainConfig;
  let ckpt: Checkpoint | null = null;
  let outDir: string;
  if (values.resume !== undefined) {
    const given = runOptions.filter((k) => (values as Record<string, unknown>)[k] !== undefined);
    if (given.length)
      throw new UsageError(
        `--resume continues a run as it was defined; drop ${given.map((k) => `--${k}`).join(', ')} (only --epochs, --stop-after, --workers, --backend, --json, --out and --force may be given)`,
      );
    outDir = resolve(values.out ?? values.resume);
    // A save the last run was killed in is finished (or rolled back) before the checkpoint is read.
    await settleDirectory(resolve(values.resume));
    await claimOutputDir(outDir, {
      option: '--out',
      force: Boolean(values.force),
      resuming: outDir === resolve(values.resume),
    });
    const path = join(resolve(values.resume), checkpointFile);
    if (!existsSync(path))
      throw new UsageError(
        `--resume ${values.resume}: no ${checkpointFile} there; give the --out directory of an earlier \`vireo train\``,
      );
    ckpt = await loadCheckpoint(path);
    config = checkedConfig(ckpt.config, path);
    if (!ckpt.optimizer)
      throw new FormatError(
        `${path}: checkpoint field 'optimizer' is missing; a run resumed without its optimizer state would silently restart Adam's moments or SGD's momentum`,
      );
    if (values.epochs !== undefined) {
      const epochs = intOption(values.epochs, 'epochs', config.epochs, 1);
      if (epochs !== config.epochs && config.schedule === 'onecycle')
        throw new UsageError(
          `--epochs ${epochs}: this run's one-cycle schedule was planned for ${config.epochs} epochs; resume without --epochs`,
        );
      config = { ...config, epochs };
    }
    if (ckpt.epoch >= config.epochs) {
      log(
        `${values.resume}: all ${config.epochs} epochs are done already; pass --epochs to train longer (not with the one-cycle schedule)`,
      );
      return 0;
    }
  } else {
    config = configFrom(values as Record<string, string | boolean | undefined>);
    outDir = resolve(values.out ?? 'vireo-model');
    // Before any data is read or any step taken: a file, an unwritable place or another model there.
    await claimOutputDir(outDir, {
      option: '--out',
      force: Boolean(values.force),
      resuming: false,
      resumeHint: `--resume ${values.out ?? 'vireo-model'} to continue its training`,
    });
  }

  // An imported model (a \`vireo import\` directory, or a resumed fine-tune of one) fixes the input size and
  // normalization: the data is read at its size, normalized as it was trained.
  const builtin = (builtinModels as readonly string[]).includes(config.model);
  const imported = builtin
    ? null
    : peekImported(ckpt && values.resume !== undefined ? resolve(values.resume) : resolve(config.model));
  if (imported && !ckpt && values['image-size'] === undefined) config = { ...config, imageSize: imported.inputShape[1] };

  // Data.
  const source: DataSource = detectData(config.data ?? undefined, config.imageSize);
  const data = await openData(source);
  const { inputShape, classes } = data;
  const c = inputShape[0];
  const normalization = !imported
    ? data.normalization
    : (imported.normalization ?? { mean: new Array(c).fill(0), std: new Array(c).fill(1) });
  if (imported && imported.inputShape.join('x') !== inputShape.join('x'))
    throw new UsageError(
      `--model ${config.model} takes ${imported.inputShape.join('×')} input, the data is ${inputShape.join('×')}` +
        (source.kind === 'image-folder' ? ` (image folders: --image-size ${imported.inputShape[1]})` : ''),
    );
  const trainTransform = makeTransform(source, normalization, config.augment, inputShape);
  const evalTransform = makeTransform(source, normalization, false, inputShape);
  let trainIdx = range(data.train.length);
  let valSet: Subset;
  if (config.valSplit !== null || !data.test) {
    const fraction = config.valSplit ?? 0.1;
    if (config.valSplit === null)
      log(`${data.label} has no test split: validating on a seeded 10% of it (--val-split to change)`);
    const [t, v] = splitIndices(data.train.length, fraction, config.seed);
    trainIdx = t;
    valSet = new Subset(data.train, config.limit ? v.slice(0, config.limit) : v, evalTransform);
  } else {
    const n = data.test.length;
    valSet = new Subset(data.test, range(config.limit ? Math.min(config.limit, n) : n), evalTransform);
  }
  if (config.limit) trainIdx = trainIdx.slice(0, config.limit);
  const trainSet = new Subset(data.train, trainIdx, trainTransform);

  // Model.
  manualSeed(config.seed);
  let model: Module;
  let modelName: string;
  if (builtin) {
    model = buildModel(config.model as BuiltinModel, inputShape, classes.length);
    modelName = config.model;
  } else if (imported) {
    const { model: m, meta } = await loadClassifier(imported.dir);
    if (meta.classes.length !== classes.length)
      throw new UsageError(
        `--model ${config.model} has ${meta.classes.length} classes, ${data.label} has ${classes.length}; the imported network's head fixes the class count`,
      );
    model = m;
    modelName = basename(imported.dir);
    if (!ckpt) config = { ...config, model: imported.dir };
  } else {
    // A resumed run takes the architecture from its own directory when it is there (every save writes
    // model.json): the --model directory it started from may have moved or gone since.
    const own = values.resume !== undefined ? resolve(values.resume) : null;
    const dir = ckpt && own && existsSync(join(own, 'model.json')) ? own : resolve(config.model);
    if (!existsSync(join(dir, 'model.json')))
      throw new UsageError(
        `--model ${config.model}: not a built-in model (${builtinModels.join(', ')}) nor a model directory with model.json`,
      );
    const loaded = await loadModel(dir);
    if (loaded.meta.inputShape.join('x') !== inputShape.join('x'))
      throw new UsageError(
        `--model ${config.model} takes ${loaded.meta.inputShape.join('×')} input, the data is ${inputShape.join('×')}`,
      );
    if (loaded.meta.classes.length !== classes.length)
      throw new UsageError(
        `--model ${config.model} has ${loaded.meta.classes.length} classes, ${data.label} has ${classes.length}; start from a built-in model instead`,
      );
    model = loaded.model;
    modelName = loaded.meta.name ?? config.model;
    if (!ckpt) config = { ...config, model: dir };
  }
  if (ckpt) {
    model.loadStateDict(ckpt.model);
    // The dropout generators decide the masks: restored, a resumed run draws the masks the whole run would.
    if (ckpt.rng.dropout) model.loadRngState(ckpt.rng.dropout);
    else if (Object.keys(model.rngState()).length > 0)
      log(
        'note: this checkpoint predates saved dropout state; the Dropout masks restart, so the result will differ from an uninterrupted run',
      );
  }
  const trainable = chooseTrainable(model, config);
  if (trainable.length === 0) throw new UsageError(`--model ${config.model}: no parameter left to train`);
  // Before a plan is built: --image-size 100000 or a huge --batch-size fails naming the size, not in a kernel.
  checkPlanMemory(model, inputShape, config.batchSize, { training: true, what: `vireo train: ${modelName}` });
  await toBackend(model, backend, io);
  const engine = await model.currentBackend();

  const trainLoader = new DataLoader(trainSet, {
    batchSize: config.batchSize,
    shuffle: true,
    dropLast: trainSet.length > config.batchSize,
    seed: config.seed,
    numWorkers: workers,
  });
  const valLoader = new DataLoader(valSet, { batchSize: 250, numWorkers: workers });
  const stepsPerEpoch = trainLoader.length;
  if (ckpt && ckpt.step >= stepsPerEpoch)
    throw new FormatError(
      `${join(resolve(values.resume as string), checkpointFile)}: checkpoint field 'step' is ${ckpt.step}, but an epoch of this run has ${stepsPerEpoch} steps`,
    );
  const optimizer = makeOptimizer(
    config,
    model.parameters().filter((p) => p.requiresGrad && !p.isBuffer),
  );
  const schedule = makeSchedule(config, optimizer, stepsPerEpoch);
  if (ckpt?.optimizer) {
    checkOptimizerGroups(
      ckpt.optimizer.paramGroups,
      optimizer.stateDict().paramGroups,
      join(resolve(values.resume as string), checkpointFile),
    );
    optimizer.loadStateDict(ckpt.optimizer);
  }
  if (ckpt?.schedule && schedule) schedule.loadStateDict(ckpt.schedule);

  const history: Record<string, unknown>[] = ckpt ? [...ckpt.history] : [];
  const startEpoch = ckpt ? ckpt.epoch : 0;
  const engineName = engine.info().build ? `${engine.info().name} (${engine.info().build} build)` : engine.info().name;
  const where = backend === 'auto' ? `auto (${engineName} first)` : engineName;
  log(
    `${ui.bold('vireo train')}: ${modelName} (${parameterCount(model).toLocaleString('en-US')} parameters) on ${data.label}: ` +
      `${trainSet.length} training / ${valSet.length} validation images, ${where}`,
  );
  if (ckpt) log(`resuming ${outDir} after epoch ${ckpt.epoch}${ckpt.step ? `, step ${ckpt.step}` : ''} of ${config.epochs}`);

  const state = { epoch: startEpoch + 1, step: ckpt?.step ?? 0 };

  // Weights and optimizer state trained on a GPU reach the host only when asked (docs/webgpu.md): every save
  // brings them home first. A no-op on wasm and reference.
  const syncHome = async () => {
    await model.syncToHost();
    await optimizer.syncToHost();
  };
  const snapshot = (epoch: number, step: number): Checkpoint => ({
    epoch,
    step,
    model: model.stateDict(),
    optimizer: optimizer.stateDict(),
    schedule: schedule ? schedule.stateDict() : null,
    rng: { seed: config.seed, loaderEpoch: epoch, initSeed: config.seed, dropout: model.rngState() },
    history,
    config: config as unknown as Record<string, unknown>,
  });
  // The model, its weights and the checkpoint as one directory, replaced in one atomic step: a kill at any
  // moment leaves the previous save or this one, whose files always agree. An imported model (vireo import)
  // is written back as such a directory (its ONNX file, metadata and the new weights).
  const save = (epoch: number, step: number, record: Record<string, unknown> | null) => {
    const checkpoint = { name: checkpointFile, data: encodeCheckpoint(snapshot(epoch, step)) };
    if (imported) {
      const entries = importedEntries(imported, model, classes, {
        data: config.data,
        epochs: history.length,
        trainable: trainable.length === model.namedParameters().filter(([, p]) => !p.isBuffer).length ? 'all' : trainable,
        ...(record ? { last: record } : {}),
      });
      return writeDirectoryAtomic(outDir, [...entries, checkpoint]);
    }
    const files = encodeModel(model, {
      name: modelName,
      inputShape,
      classes,
      normalization,
      training: {
        data: config.data ?? 'fashion-mnist-embedded',
        imageSize: source.kind === 'image-folder' ? config.imageSize : undefined,
        epochs: history.length,
        ...(record ? { last: record } : {}),
      },
    });
    return writeDirectoryAtomic(outDir, [...modelFileEntries(files), checkpoint]);
  };

  const stopAfter = values['stop-after'] === undefined ? null : intOption(values['stop-after'], 'stop-after', 0, 1);
  const lastEpoch = stopAfter ? Math.min(config.epochs, startEpoch + stopAfter) : config.epochs;
  const bar = progress(io, !json);
  let last: Record<string, unknown> | null = null;
  try {
    for (let epoch = startEpoch + 1; epoch <= lastEpoch; epoch++) {
      const skip = epoch === startEpoch + 1 ? (ckpt?.step ?? 0) : 0;
      state.epoch = epoch;
      state.step = skip;
      trainLoader.setEpoch(epoch - 1);
      async function* batches(): AsyncGenerator<Batch> {
        let i = 0;
        for await (const b of trainLoader) {
          if (i++ < skip) continue;
          // Training otherwise runs on microtasks only: let the event loop deliver SIGINT between steps.
          await new Promise((r) => setImmediate(r));
          if (signal.interrupted) throw new Interrupted();
          yield b;
        }
      }
      bar.start(stepsPerEpoch, `epoch ${epoch}/${config.epochs}`);
      let record: EpochRecord;
      try {
        const h = await fitModel(model, {
          train: batches,
          val: valLoader,
          epochs: 1,
          optimizer,
          loss: new nn.CrossEntropyLoss(),
          schedule,
          clip: config.clipNorm ? { maxNorm: config.clipNorm } : undefined,
          metrics: [new metrics.Accuracy(), new metrics.F1Score({ numClasses: classes.length })],
          onProgress: (e) => {
            if (e.phase !== 'train') return;
            state.step = skip + e.step;
            bar.update(state.step, `loss ${e.loss.toFixed(4)}`);
          },
        });
        record = h.epochs[0];
      } finally {
        bar.stop();
      }
      const v = record.valMetrics ?? {};
      const line = {
        epoch,
        loss: record.loss,
        valAccuracy: v.accuracy as number,
        valMacroF1: v.f1Macro as number,
        imagesPerSecond: record.imagesPerSecond,
        seconds: record.seconds,
      };
      last = line;
      history.push({ ...line, valLoss: record.valLoss, lr: record.lr });
      await syncHome();
      await save(epoch, 0, line);
      if (json) io.out(JSON.stringify(line));
      else
        io.out(
          `epoch ${epoch}/${config.epochs}  loss ${line.loss.toFixed(4)}  val accuracy ${ui.bold(line.valAccuracy.toFixed(4))}  ` +
            `macro F1 ${line.valMacroF1.toFixed(4)}  ${Math.round(line.imagesPerSecond)} images/s  ${line.seconds.toFixed(1)} s`,
        );
      if (signal.interrupted && epoch < config.epochs) {
        state.epoch = epoch + 1;
        state.step = 0;
        throw new Interrupted();
      }
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    // Mid-epoch (or at a boundary): weights, optimizer and schedule as they are after the last step taken.
    await syncHome();
    await save(state.epoch - 1, state.step, last ?? (history.at(-1) as Record<string, unknown> | undefined) ?? null);
    io.err(
      `vireo train: interrupted in epoch ${state.epoch} after ${state.step} of ${stepsPerEpoch} steps; checkpoint saved to ${join(outDir, checkpointFile)}.\n` +
        `Continue with: vireo train --resume ${outDir}`,
    );
    return 1;
  } finally {
    await trainLoader.close();
    await valLoader.close();
    await syncHome();
    model.releasePlans();
    optimizer.dispose();
  }
  if (lastEpoch < config.epochs) {
    log(`stopped after epoch ${lastEpoch} of ${config.epochs} (--stop-after); continue with: vireo train --resume ${outDir}`);
    return 0;
  }
  if (!json && last) {
    io.out(
      `${ui.green('done')}: final validation accuracy ${ui.bold((last.valAccuracy as number).toFixed(4))}, macro F1 ${(last.valMacroF1 as number).toFixed(4)}\n` +
        `model: ${outDir} (model.json, weights.safetensors); checkpoint: ${join(outDir, checkpointFile)}\n` +
        `next: vireo eval --model ${outDir}   vireo predict --model ${outDir} IMAGE.png`,
    );
  }
  return 0;
}
