// Built-in architectures for `vireo train --model NAME` (the networks themselves live in src/models.ts).
import { cifarNet, smallCnn as smallCnnModel } from '../models.js';
import type { nn } from '../index.js';
import type { Module } from '../nn/module.js';

export const builtinModels = ['small-cnn', 'cifar-net'] as const;
export type BuiltinModel = (typeof builtinModels)[number];

export function smallCnn(c: number, h: number, w: number, classes: number): nn.Sequential {
  return smallCnnModel({ inChannels: c, imageSize: [h, w], classes });
}

/** CIFAR-10's class names, in label order. */
export const cifar10Classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export function cifarNetFor(c: number, h: number, w: number, classes: number): nn.Sequential {
  return cifarNet({ inChannels: c, imageSize: [h, w], classes });
}

export function buildModel(name: BuiltinModel, shape: [number, number, number], classes: number): nn.Sequential {
  const [c, h, w] = shape;
  return name === 'cifar-net' ? cifarNetFor(c, h, w, classes) : smallCnn(c, h, w, classes);
}

export const parameterCount = (m: Module) => m.parameters().reduce((s, p) => s + p.size, 0);
