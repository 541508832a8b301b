// fit / evaluate: the PyTorch loop (zeroGrad, forward, loss, backward, clip, step) over any (async)
// iterable of { x, y } batches, with per-epoch history, metrics, LR schedules and early stopping.
import { ArgumentError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import type { Tensor } from '../core/tensor.js';
import type { Backend } from '../backends/backend.js';
import type { Batch } from './batches.js';
import { clipGradNormAsync, clipGradValue } from './clip.js';
import {
  type DeviceLossRecord,
  DeviceRecovery,
  type LoggedStep,
  type RecoveryOptions,
  isRecoverable,
} from './device-recovery.js';
import { type Loss, NonFiniteError } from './losses.js';
import type { Metric, MetricValue } from './metrics.js';
import type { GroupBase, Optimizer } from './optim/optimizer.js';
import { type LRScheduler, OneCycleLR } from './schedules.js';

/** What fit needs of a model: an nn.Module fits; so does any object with these methods. */
export interface TrainableModel {
  forward(x: Tensor): Promise<Tensor>;
  train(mode?: boolean): unknown;
  eval(): unknown;
  parameters(): Parameter[];
  training?: boolean;
  currentBackend?(): Promise<Backend>;
  stateDict?(): Record<string, Tensor>;
  loadStateDict?(stateDict: Record<string, Tensor>): void;
}

type Batches = AsyncIterable<Batch> | Iterable<Batch>;
/** An iterable (iterated afresh every epoch) or a function returning a fresh one per epoch. */
export type BatchSource = Batches | (() => Batches);

export type LossFn = Loss | ((output: Tensor, target: Tensor) => Tensor);

export interface EarlyStopping {
  /** A key of `EpochRecord.logs`: 'valLoss' (default), 'loss', 'valAccuracy', ... */
  monitor?: string;
  mode?: 'min' | 'max';
  patience?: number;
  minDelta?: number;
  /** Load the weights of the best epoch back when training ends (needs model.stateDict/loadStateDict). */
  restoreBest?: boolean;
}

export interface ProgressEvent {
  phase: 'train' | 'val';
  epoch: number;
  step: number;
  loss: number;
  images: number;
  lr: number;
}

export interface FitOptions {
  train: BatchSource;
  val?: BatchSource;
  epochs: number;
  optimizer: Optimizer<GroupBase>;
  loss: LossFn;
  schedule?: LRScheduler;
  /** When the schedule steps: per 'batch' (default for OneCycleLR) or per 'epoch' (default otherwise). */
  scheduleStep?: 'batch' | 'epoch';
  clip?: { maxNorm: number; normType?: number } | { value: number };
  metrics?: Metric[];
  onProgress?: (event: ProgressEvent) => void;
  /** Called after each epoch with its record; return false to stop. */
  onEpochEnd?: (record: EpochRecord) => undefined | boolean | Promise<undefined | boolean>;
  earlyStopping?: EarlyStopping;
  /** A NaN/∞ loss or gradient norm: 'stop' (default) throws naming the epoch and step; 'skip' drops the step. */
  onNaN?: 'stop' | 'skip';
  /**
   * Models on a GPU (WebGPU): host copies of weights, BatchNorm statistics, optimizer state and step counts,
   * the schedule and dropout generators, taken before the first step, at every epoch's end and every
   * `everySteps` steps. When the device is lost the model moves to wasm, the last copy is restored and the
   * steps since it run again with the same batches (kept on the host until the next copy). false: no copies;
   * a loss then stops fit with a DeviceLostError.
   */
  recovery?: RecoveryOptions | false;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  metrics: Record<string, MetricValue>;
  valLoss?: number;
  valMetrics?: Record<string, MetricValue>;
  /** Scalars for monitoring: loss, valLoss, each scalar metric, and val<Metric> for validation ones. */
  logs: Record<string, number>;
  lr: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  skippedSteps: number;
}

export interface History {
  epochs: EpochRecord[];
  stoppedEarly: boolean;
  /** The epoch (1-based) with the best monitored value, when early stopping is on. */
  bestEpoch?: number;
  /** Device losses fit recovered from (present when the model ran on a device that can be lost). */
  deviceLosses?: DeviceLossRecord[];
}

export interface EvalResult {
  loss?: number;
  metrics: Record<string, MetricValue>;
  images: number;
  seconds: number;
}

function open(source: BatchSource): Batches {
  return typeof source === 'function' ? source() : source;
}

function callLoss(loss: LossFn, output: Tensor, target: Tensor): Tensor {
  return typeof loss === 'function' ? loss(output, target) : loss.forward(output, target);
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function scalarLogs(prefix: string, metrics: Record<string, MetricValue>, out: Record<string, number>): void {
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === 'number') out[prefix ? `${prefix}${k[0].toUpperCase()}${k.slice(1)}` : k] = v;
  }
}

/**
 * Runs the model in eval mode over `data`; returns the metrics (and the mean loss per image when a loss
 * is given): `evaluate(model, data, [new metrics.Accuracy()])` or `evaluate(model, data, { metrics, loss })`.
 */
export async function evaluate(
  model: TrainableModel,
  data: BatchSource,
  metricsOrOptions: Metric[] | { metrics?: Metric[]; loss?: LossFn } = {},
): Promise<EvalResult> {
  const options = Array.isArray(metricsOrOptions) ? { metrics: metricsOrOptions, loss: undefined } : metricsOrOptions;
  const metrics = options.metrics ?? [];
  const wasTraining = model.training ?? false;
  model.eval();
  for (const m of metrics) m.reset();
  const t0 = now();
  let images = 0;
  let lossSum = 0;
  try {
    for await (const batch of open(data)) {
      const { x, y } = batch;
      const out = await model.forward(x);
      const n = x.shape[0];
      if (options.loss) lossSum += (await callLoss(options.loss, out, y).data())[0] * n;
      for (const m of metrics) m.update(out, y);
      images += n;
      batch.release?.();
    }
  } finally {
    if (wasTraining) model.train(true);
  }
  const result: EvalResult = {
    metrics: Object.fromEntries(metrics.map((m) => [m.name, m.compute()])),
    images,
    seconds: (now() - t0) / 1000,
  };
  if (options.loss) result.loss = images ? lossSum / images : Number.NaN;
  return result;
}

/**
 * Trains for `epochs` epochs. The loss reported per epoch is the mean over images of each batch's loss
 * (exact for 'mean' reductions). Updates run where the model placed each parameter (on its layer's backend).
 */
export async function fit(model: TrainableModel, options: FitOptions): Promise<History> {
  const { optimizer, schedule, clip } = options;
  if (!(Number.isInteger(options.epochs) && options.epochs > 0))
    throw new ArgumentError(`fit: epochs must be a positive integer, got ${options.epochs}`);
  const onNaN = options.onNaN ?? 'stop';
  if (onNaN !== 'stop' && onNaN !== 'skip') throw new ArgumentError(`fit: onNaN must be 'stop' or 'skip', got ${onNaN}`);
  const scheduleStep = options.scheduleStep ?? (schedule instanceof OneCycleLR ? 'batch' : 'epoch');
  const metrics = options.metrics ?? [];
  const es = options.earlyStopping;
  const monitor = es?.monitor ?? 'valLoss';
  const mode = es?.mode ?? (/loss/i.test(monitor) ? 'min' : 'max');
  const patience = es?.patience ?? 0;
  const minDelta = Math.abs(es?.minDelta ?? 0);
  if (es && !options.val && monitor.startsWith('val'))
    throw new ArgumentError(`fit: earlyStopping monitors '${monitor}' but no val data was given`);
  const params = model.parameters();
  const history: History = { epochs: [], stoppedEarly: false };
  let best = mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  let sinceBest = 0;
  let bestState: Record<string, Tensor> | null = null;
  if (es?.restoreBest && !(model.stateDict && model.loadStateDict)) {
    throw new ArgumentError('fit: earlyStopping.restoreBest needs a model with stateDict() and loadStateDict()');
  }

  // Host copies for device-loss recovery, when some layer runs on a device that can be lost (WebGPU).
  const recovery =
    options.recovery !== false && isRecoverable(model) && (await model.canLoseDevice())
      ? new DeviceRecovery(
          model,
          optimizer,
          schedule,
          options.recovery?.everySteps ?? 0,
          options.recovery?.returnToDevice ?? false,
        )
      : null;
  if (recovery) history.deviceLosses = recovery.losses;
  await recovery?.copy(0);

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    await recovery?.maybeReturn(epoch);
    model.train(true);
    for (const m of metrics) m.reset();
    const t0 = now();
    let images = 0;
    let lossSum = 0;
    let step = 0;
    let skipped = 0;
    /** One optimizer step; `count`: its loss and metrics enter the epoch's record (false when re-run after a device loss). */
    const runStep = async (x: Tensor, y: Tensor, stepNo: number, count: boolean): Promise<void> => {
      const n = x.shape[0];
      optimizer.zeroGrad();
      const out = await model.forward(x);
      let value = Number.NaN;
      let problem = '';
      let lossTensor: Tensor | null = null;
      try {
        lossTensor = callLoss(options.loss, out, y);
        value = (await lossTensor.data())[0];
        if (!Number.isFinite(value)) problem = `the loss is ${value}`;
      } catch (e) {
        if (!(e instanceof NonFiniteError)) throw e;
        problem = e.message;
      }
      if (!problem && lossTensor) {
        await lossTensor.backward();
        if (clip && 'maxNorm' in clip) {
          const norm = await clipGradNormAsync(params, clip.maxNorm, clip.normType ?? 2);
          if (!Number.isFinite(norm)) problem = `the gradient norm is ${norm}`;
        } else if (clip) clipGradValue(params, clip.value);
      }
      if (problem) {
        if (onNaN === 'stop')
          throw new NonFiniteError(
            `fit: non-finite loss at epoch ${epoch}, step ${stepNo} (${problem}); pass onNaN: 'skip' to drop such steps, or lower the learning rate`,
          );
        if (count) skipped++;
        optimizer.zeroGrad();
        return;
      }
      optimizer.step();
      if (schedule && scheduleStep === 'batch') schedule.step();
      if (!count) return;
      for (const m of metrics) m.update(out, y);
      lossSum += value * n;
      images += n;
      options.onProgress?.({ phase: 'train', epoch, step: stepNo, loss: value, images, lr: optimizer.paramGroups[0].lr });
    };
    const replay = async (entry: LoggedStep): Promise<void> => {
      await runStep(entry.x, entry.y, entry.step, !entry.counted);
      entry.counted = true;
    };
    for await (const batch of open(options.train)) {
      // A DataLoader batch is done with once its step ran: its memory goes to a later batch.
      try {
        step++;
        if (!recovery) {
          await runStep(batch.x, batch.y, step, true);
          continue;
        }
        const entry = recovery.record(batch.x, batch.y, step);
        // After a loss the replay of the logged steps has run this one too.
        await recovery.guard(epoch, step, () => replay(entry), replay, false);
        const at = step;
        if (recovery.due()) await recovery.guard(epoch, step, () => (recovery as DeviceRecovery).copy(at), replay, true);
      } finally {
        batch.release?.();
      }
    }
    const lr = optimizer.paramGroups[0].lr;
    if (recovery) {
      // Everything trained this epoch reaches the host (a loss found here re-runs the epoch's logged steps);
      // the copy after the schedule's step is where the next epoch resumes from.
      const at = step;
      await recovery.guard(epoch, step, () => (recovery as DeviceRecovery).copy(at), replay, true);
    }
    const seconds = (now() - t0) / 1000;
    if (schedule && scheduleStep === 'epoch') schedule.step();
    await recovery?.copy(0);
    const record: EpochRecord = {
      epoch,
      loss: images ? lossSum / images : Number.NaN,
      metrics: Object.fromEntries(metrics.map((m) => [m.name, m.compute()])),
      logs: {},
      lr,
      images,
      seconds,
      imagesPerSecond: seconds > 0 ? images / seconds : 0,
      skippedSteps: skipped,
    };
    record.logs.loss = record.loss;
    scalarLogs('', record.metrics, record.logs);
    if (options.val) {
      const r = await evaluate(model, options.val, { metrics, loss: options.loss });
      record.valLoss = r.loss;
      record.valMetrics = r.metrics;
      record.logs.valLoss = r.loss as number;
      scalarLogs('val', r.metrics, record.logs);
      options.onProgress?.({ phase: 'val', epoch, step: 0, loss: r.loss as number, images: r.images, lr });
    }
    history.epochs.push(record);
    const stop = (await options.onEpochEnd?.(record)) === false;
    if (es) {
      const v = record.logs[monitor];
      if (v === undefined)
        throw new ArgumentError(
          `fit: earlyStopping monitors '${monitor}', which is not among ${Object.keys(record.logs).join(', ')}`,
        );
      const improved = mode === 'min' ? v < best - minDelta : v > best + minDelta;
      if (improved) {
        best = v;
        sinceBest = 0;
        history.bestEpoch = epoch;
        if (es.restoreBest && model.stateDict) {
          await (model as { syncToHost?: () => Promise<void> }).syncToHost?.();
          bestState = model.stateDict();
        }
      } else if (++sinceBest > patience) {
        history.stoppedEarly = true;
        break;
      }
    }
    if (stop) break;
  }
  if (bestState && model.loadStateDict) model.loadStateDict(bestState);
  model.train(true);
  return history;
}
