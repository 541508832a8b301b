import { conv2dOp } from './conv2d.js';
import { activationOp, addOp, batchNorm2dOp, dropoutOp } from './elementwise.js';
import { linearOp } from './linear.js';
import { adaptiveAvgPool2dOp, avgPool2dOp, maxPool2dOp } from './pool2d.js';
import { flattenOp, softmaxOp } from './shape-ops.js';
import type { OpDef, OpName } from './types.js';

export * from './types.js';
export { windowOutputSize } from './util.js';

/** The one table of ops: name → definition. */
export const opDefs: { [K in OpName]: OpDef<K> } = {
  conv2d: conv2dOp,
  maxPool2d: maxPool2dOp,
  avgPool2d: avgPool2dOp,
  adaptiveAvgPool2d: adaptiveAvgPool2dOp,
  linear: linearOp,
  activation: activationOp,
  batchNorm2d: batchNorm2dOp,
  dropout: dropoutOp,
  flatten: flattenOp,
  add: addOp,
  softmax: softmaxOp,
};

export function opDef<K extends OpName>(name: K): OpDef<K> {
  return opDefs[name] as OpDef<K>;
}
