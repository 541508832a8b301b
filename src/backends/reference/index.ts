import { HostArena } from '../arena.js';
import type { Backend, KernelTable } from '../backend.js';
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
import { adaptiveAvgPool2dReference, avgPool2dReference, maxPool2dReference } from './kernels/pool2d.js';

/** The plain TypeScript backend: slow, obviously right, the oracle every other backend is tested against. */
export function createReferenceBackend(): Backend {
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
  };
  return { name: 'reference', arena, kernels, info: () => ({ name: 'reference' }) };
}

registerBackend('reference', async () => createReferenceBackend());
