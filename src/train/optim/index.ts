// The `optim` namespace: torch.optim's optimizers.
export { Optimizer, type ParamGroup, type ParamGroupSpec, type OptimizerStateDict, type GroupBase } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { sgdUpdate, adamUpdate } from '../../backends/host-updates.js';
export * as lrScheduler from '../schedules.js';
