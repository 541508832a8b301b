// Training: losses, optimizers, clipping, LR schedules, metrics and the trainer.
export {
  CrossEntropyLoss,
  MSELoss,
  Loss,
  NonFiniteError,
  crossEntropy,
  meanSquaredError,
  type CrossEntropyOptions,
  type Reduction,
} from './losses.js';
export { clipGradNorm, clipGradNormAsync, clipGradNormLazy, clipGradValue, type LazyClip } from './clip.js';
export type { DeviceLossRecord, RecoveryOptions } from './device-recovery.js';
export { LRScheduler, StepLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR, type OneCycleOptions } from './schedules.js';
export { arrayBatches, type Batch } from './batches.js';
export {
  fit,
  evaluate,
  type FitOptions,
  type History,
  type EpochRecord,
  type EvalResult,
  type EarlyStopping,
  type ProgressEvent,
  type TrainableModel,
  type BatchSource,
  type LossFn,
} from './trainer.js';
