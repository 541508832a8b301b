import { HostArena } from '../arena.js';
import type { Backend, KernelTable } from '../backend.js';
import { hostUpdates } from '../host-updates.js';
import { registerBackend } from '../registry.js';
import { conv2dReference } from './kernels/conv2d.js';
import {
  activationReference,
  addReference,
  batchNorm2dReference,
  dropoutReference,
  softmaxReference,
} from './kernels/elementwise.js';
import { linearReference } from './kernels/linear.js';
import { conv2dGradInputReference, conv2dGradWeightReference } from './kernels/conv2d-grad.js';
import * as eg from './kernels/elementwise-grad.js';
import { linearGradInputReference, linearGradWeightReference } from './kernels/linear-grad.js';
import * as pg from './kernels/pool2d-grad.js';
import * as to from './kernels/tensor-ops.js';
import * as rd from './kernels/reduce.js';
import * as ln from './kernels/layer-norm.js';
import * as sel from './kernels/select.js';
import { adaptiveAvgPool2dReference, avgPool2dReference, maxPool2dReference } from './kernels/pool2d.js';

/** The plain TypeScript backend: slow, obviously right, the oracle every other backend is tested against. */
export function createReferenceBackend(): Backend & { arena: HostArena } {
  const arena = new HostArena();
  const kernels: KernelTable = {
    conv2d: conv2dReference(arena),
    maxPool2d: maxPool2dReference(arena),
    avgPool2d: avgPool2dReference(arena),
    adaptiveAvgPool2d: adaptiveAvgPool2dReference(arena),
    linear: linearReference(arena),
    activation: activationReference(arena),
    batchNorm2d: batchNorm2dReference(arena),
    dropout: dropoutReference(arena),
    add: addReference(arena),
    softmax: softmaxReference(arena),
    // Training: backward kernels.
    conv2dGradInput: conv2dGradInputReference(arena),
    conv2dGradWeight: conv2dGradWeightReference(arena),
    biasGrad: eg.biasGradReference(arena),
    activationGrad: eg.activationGradReference(arena),
    maxPool2dGrad: pg.maxPool2dGradReference(arena),
    avgPool2dGrad: pg.avgPool2dGradReference(arena),
    adaptiveAvgPool2dGrad: pg.adaptiveAvgPool2dGradReference(arena),
    linearGradInput: linearGradInputReference(arena),
    linearGradWeight: linearGradWeightReference(arena),
    batchNorm2dGradInput: eg.batchNorm2dGradInputReference(arena),
    batchNorm2dGradWeight: eg.batchNorm2dGradWeightReference(arena),
    softmaxGrad: eg.softmaxGradReference(arena),
    dropoutMask: eg.dropoutMaskReference(arena),
    mul: eg.mulReference(arena),
    // ONNX import ops.
    binary: to.binaryGeneric(arena),
    constant: to.constantGeneric(arena),
    concat: to.concatGeneric(arena),
    transpose: to.transposeGeneric(arena),
    pad: to.padGeneric(arena),
    unary: to.unaryGeneric(arena),
    matmul: to.matmulGeneric(arena),
    unaryGrad: to.unaryGradGeneric(arena),
    reduce: rd.reduceGeneric(arena),
    expand: rd.expandGeneric(arena),
    slice: rd.sliceGeneric(arena),
    layerNorm: ln.layerNormReference(arena),
    layerNormGradInput: ln.layerNormGradInputReference(arena),
    layerNormGradWeight: ln.layerNormGradWeightReference(arena),
    where: sel.whereGeneric(arena),
    gather: sel.gatherGeneric(arena),
    binaryGrad: sel.binaryGradGeneric(arena),
    whereGrad: sel.whereGradGeneric(arena),
    gatherGrad: sel.gatherGradGeneric(arena),
    reduceMaxGrad: sel.reduceMaxGradGeneric(arena),
  };
  return { name: 'reference', memory: arena, arena, kernels, updates: hostUpdates(arena), info: () => ({ name: 'reference' }) };
}

registerBackend('reference', async () => {
  // One reference instance per process: the same one optimizers and validate mode use (host.ts).
  const { hostBackend } = await import('../host.js');
  return hostBackend();
});
