import { conv2dOp } from './conv2d.js';
import { activationOp, addOp, batchNorm2dOp, dropoutOp } from './elementwise.js';
import { linearOp } from './linear.js';
import { adaptiveAvgPool2dOp, avgPool2dOp, maxPool2dOp } from './pool2d.js';
import { flattenOp, softmaxOp } from './shape-ops.js';
import type { OpDef, OpName } from './types.js';
import { conv2dGrad, conv2dGradInputOp, conv2dGradWeightOp } from './conv2d-grad.js';
import * as eg from './elementwise-grad.js';
import { linearGrad, linearGradInputOp, linearGradWeightOp } from './linear-grad.js';
import * as pg from './pool2d-grad.js';
import * as to from './tensor-ops.js';
import * as tg from './tensor-ops-grad.js';
import { expandOp, reduceOp } from './reduce.js';
import { sliceOp } from './slice.js';
import { layerNormGradInputOp, layerNormGradWeightOp, layerNormOp } from './layer-norm.js';
import * as sel from './select.js';

export * from './types.js';
export { windowOutputSize } from './util.js';

/** The one table of ops: name → definition (forward ops carry their gradient rule from *-grad.ts). */
export const opDefs: { [K in OpName]: OpDef<K> } = {
  conv2d: { ...conv2dOp, grad: conv2dGrad },
  maxPool2d: { ...maxPool2dOp, grad: pg.maxPool2dGrad },
  avgPool2d: { ...avgPool2dOp, grad: pg.avgPool2dGrad },
  adaptiveAvgPool2d: { ...adaptiveAvgPool2dOp, grad: pg.adaptiveAvgPool2dGrad },
  linear: { ...linearOp, grad: linearGrad },
  activation: { ...activationOp, grad: eg.activationGrad },
  batchNorm2d: { ...batchNorm2dOp, grad: eg.batchNorm2dGrad },
  dropout: { ...dropoutOp, grad: eg.dropoutGrad },
  flatten: { ...flattenOp, grad: eg.flattenGrad },
  add: { ...addOp, grad: eg.addGrad },
  softmax: { ...softmaxOp, grad: eg.softmaxGrad },
  // Backward ops (training graphs only).
  conv2dGradInput: conv2dGradInputOp,
  conv2dGradWeight: conv2dGradWeightOp,
  biasGrad: eg.biasGradOp,
  activationGrad: eg.activationGradOp,
  maxPool2dGrad: pg.maxPool2dGradOp,
  avgPool2dGrad: pg.avgPool2dGradOp,
  adaptiveAvgPool2dGrad: pg.adaptiveAvgPool2dGradOp,
  linearGradInput: linearGradInputOp,
  linearGradWeight: linearGradWeightOp,
  batchNorm2dGradInput: eg.batchNorm2dGradInputOp,
  batchNorm2dGradWeight: eg.batchNorm2dGradWeightOp,
  softmaxGrad: eg.softmaxGradOp,
  dropoutMask: eg.dropoutMaskOp,
  mul: eg.mulOp,
  reshape: eg.reshapeOp,
  // ONNX import (gradients: tensor-ops-grad.ts; matmul has none yet).
  binary: { ...to.binaryOp, grad: tg.binaryGrad },
  constant: { ...to.constantOp, grad: tg.constantGrad },
  concat: { ...to.concatOp, grad: tg.concatGrad },
  transpose: { ...to.transposeOp, grad: tg.transposeGrad },
  pad: { ...to.padOp, grad: tg.padGrad },
  unary: { ...to.unaryOp, grad: tg.unaryGrad },
  matmul: to.matmulOp,
  unaryGrad: tg.unaryGradOp,
  reduce: reduceOp,
  expand: expandOp,
  slice: sliceOp,
  layerNorm: layerNormOp,
  layerNormGradInput: layerNormGradInputOp,
  layerNormGradWeight: layerNormGradWeightOp,
  where: sel.whereOp,
  gather: sel.gatherOp,
  binaryGrad: sel.binaryGradOp,
  whereGrad: sel.whereGradOp,
  gatherGrad: sel.gatherGradOp,
  reduceMaxGrad: sel.reduceMaxGradOp,
};

export function opDef<K extends OpName>(name: K): OpDef<K> {
  return opDefs[name] as OpDef<K>;
}
