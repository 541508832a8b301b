// The run configuration of `vireo train`: read from the command line or from a checkpoint (each field checked
// as the command line would check it), and the optimizer and learning-rate schedule it asks for.
import { resolve } from 'node:path';
import { FormatError, type LRScheduler, OneCycleLR, CosineAnnealingLR, optim } from '../index.js';
import type { Module } from '../nn/module.js';
import type { GroupBase, Optimizer } from '../train/optim/optimizer.js';
import { intOption } from './args.js';
import { choice, floatOption } from './ui.js';

export interface TrainConfig {
  data: string | null;
  imageSize: number;
  model: string;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'onecycle' | 'cosine' | 'none';
  clipNorm: number | null;
  augment: boolean;
  valSplit: number | null;
  limit: number | null;
  /** Which parameters train (absent in checkpoints of earlier versions: all). */
  freezeBackbone?: boolean;
  trainFrom?: string | null;
  seed: number;
}

export function configFrom(values: Record<string, string | boolean | undefined>): TrainConfig {
  const s = (k: string) => values[k] as string | undefined;
  const optimizer = choice(s('optimizer'), 'optimizer', ['adamw', 'adam', 'sgd'] as const, 'adamw');
  const pos = (v: number) => v > 0;
  return {
    data: s('data') === undefined ? null : resolve(s('data') as string),
    imageSize: intOption(s('image-size'), 'image-size', 32, 8),
    model: s('model') ?? 'small-cnn',
    epochs: intOption(s('epochs'), 'epochs', 3, 1),
    batchSize: intOption(s('batch-size'), 'batch-size', 64, 1),
    optimizer,
    lr: floatOption(s('lr'), 'lr', optimizer === 'sgd' ? 0.05 : 0.003, pos, 'a number > 0'),
    momentum: floatOption(s('momentum'), 'momentum', 0.9, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    weightDecay: floatOption(s('weight-decay'), 'weight-decay', 1e-4, (v) => v >= 0, 'a number ≥ 0'),
    schedule: choice(s('schedule'), 'schedule', ['onecycle', 'cosine', 'none'] as const, 'onecycle'),
    clipNorm: s('clip-norm') === undefined ? null : floatOption(s('clip-norm'), 'clip-norm', 0, pos, 'a number > 0'),
    augment: Boolean(values.augment),
    valSplit:
      s('val-split') === undefined
        ? null
        : floatOption(s('val-split'), 'val-split', 0, (v) => v > 0 && v < 1, 'a fraction in (0, 1)'),
    limit: s('limit') === undefined ? null : intOption(s('limit'), 'limit', 0, 1),
    freezeBackbone: Boolean(values['freeze-backbone']),
    trainFrom: s('train-from') ?? null,
    seed: intOption(s('seed'), 'seed', 1, 0),
  };
}

/** A checkpoint's run options, each checked as the command line's would be (an edited file fails naming the field). */
export function checkedConfig(raw: Record<string, unknown>, path: string): TrainConfig {
  const int = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const checks: [keyof TrainConfig, (v: unknown) => boolean, string][] = [
    ['data', (v) => v === null || (typeof v === 'string' && v.length > 0), 'a path or null'],
    ['imageSize', (v) => int(v, 8), 'an integer ≥ 8'],
    ['model', (v) => typeof v === 'string' && v.length > 0, 'a model name or directory'],
    ['epochs', (v) => int(v, 1), 'an integer ≥ 1'],
    ['batchSize', (v) => int(v, 1), 'an integer ≥ 1'],
    ['optimizer', (v) => v === 'sgd' || v === 'adam' || v === 'adamw', "'sgd', 'adam' or 'adamw'"],
    ['lr', (v) => num(v) && (v as number) > 0, 'a number > 0'],
    ['momentum', (v) => num(v) && (v as number) >= 0 && (v as number) < 1, 'a number in [0, 1)'],
    ['weightDecay', (v) => num(v) && (v as number) >= 0, 'a number ≥ 0'],
    ['schedule', (v) => v === 'onecycle' || v === 'cosine' || v === 'none', "'onecycle', 'cosine' or 'none'"],
    ['clipNorm', (v) => v === null || (num(v) && (v as number) > 0), 'null or a number > 0'],
    ['augment', (v) => typeof v === 'boolean', 'true or false'],
    ['valSplit', (v) => v === null || (num(v) && (v as number) > 0 && (v as number) < 1), 'null or a fraction in (0, 1)'],
    ['limit', (v) => v === null || int(v, 1), 'null or an integer ≥ 1'],
    ['seed', (v) => int(v, 0), 'an integer ≥ 0'],
  ];
  for (const [key, ok, want] of checks)
    if (!ok(raw[key]))
      throw new FormatError(
        `${path}: checkpoint field 'config.${key}' must be ${want}, got ${JSON.stringify(raw[key]) ?? 'nothing'}`,
      );
  return raw as unknown as TrainConfig;
}

/**
 * The checkpoint's optimizer groups have the fields this run's optimizer (and schedule) give a group, each
 * of the same kind (a number, a list of that length, a boolean): loadStateDict assigns them as they are,
 * and a `betas` of 0 would otherwise fail deep in the update as a TypeError.
 */
export function checkOptimizerGroups(saved: Record<string, unknown>[], fresh: Record<string, unknown>[], path: string): void {
  const kind = (v: unknown) => (Array.isArray(v) ? `a list of ${v.length}` : v === null ? 'null' : `a ${typeof v}`);
  if (saved.length !== fresh.length)
    throw new FormatError(
      `${path}: checkpoint field 'optimizer.paramGroups' has ${saved.length} groups, this run's optimizer has ${fresh.length}`,
    );
  for (const [i, group] of saved.entries()) {
    for (const [key, value] of Object.entries(group)) {
      const field = `optimizer.paramGroups[${i}].${key}`;
      if (!(key in fresh[i]))
        throw new FormatError(`${path}: checkpoint field '${field}' is not a field of this run's optimizer`);
      if (kind(value) !== kind(fresh[i][key]))
        throw new FormatError(
          `${path}: checkpoint field '${field}' must be ${kind(fresh[i][key])}, got ${JSON.stringify(value)}`,
        );
    }
  }
}

export function makeOptimizer(c: TrainConfig, params: ReturnType<Module['parameters']>): Optimizer<GroupBase> {
  if (c.optimizer === 'sgd')
    return new optim.SGD(params, {
      lr: c.lr,
      momentum: c.momentum,
      weightDecay: c.weightDecay,
    }) as unknown as Optimizer<GroupBase>;
  const Opt = c.optimizer === 'adam' ? optim.Adam : optim.AdamW;
  return new Opt(params, { lr: c.lr, weightDecay: c.weightDecay }) as unknown as Optimizer<GroupBase>;
}

export function makeSchedule(c: TrainConfig, opt: Optimizer<GroupBase>, stepsPerEpoch: number): LRScheduler | undefined {
  // One-cycle needs a few steps per phase (torch's formula divides by zero otherwise): tiny runs keep a constant lr.
  if (c.schedule === 'onecycle' && c.epochs * stepsPerEpoch >= 4)
    return new OneCycleLR(opt, {
      maxLr: c.lr,
      epochs: c.epochs,
      stepsPerEpoch,
      pctStart: Math.max(0.25, 2 / (c.epochs * stepsPerEpoch)),
      cycleMomentum: !(c.optimizer === 'sgd' && c.momentum === 0),
    });
  if (c.schedule === 'cosine') return new CosineAnnealingLR(opt, { tMax: c.epochs });
  return undefined;
}
