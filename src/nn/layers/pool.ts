import { ArgumentError } from '../../core/errors.js';
import type { Graph, ValueId } from '../../graph/ir.js';
import type { Pool2dAttrs } from '../../ops/types.js';
import { Module } from '../module.js';
import { pair } from './util.js';

export interface Pool2dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceilMode?: boolean;
}

function poolAttrs(
  kernelSize: number | [number, number],
  o: Pool2dOptions & { dilation?: number | [number, number]; countIncludePad?: boolean },
  what: string,
): Pool2dAttrs {
  const kernel = pair(kernelSize, `${what} kernelSize`);
  const padding = pair(o.padding ?? 0, `${what} padding`, 0);
  if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) {
    throw new ArgumentError(
      `${what}: padding ${JSON.stringify(o.padding)} must be at most half the kernel size ${JSON.stringify(kernelSize)} (as in PyTorch)`,
    );
  }
  return {
    kernel,
    stride: pair(o.stride ?? kernel, `${what} stride`),
    padding,
    dilation: pair(o.dilation ?? 1, `${what} dilation`),
    ceilMode: o.ceilMode ?? false,
    countIncludePad: o.countIncludePad ?? true,
  };
}

export class MaxPool2d extends Module {
  readonly attrs: Pool2dAttrs;
  constructor(kernelSize: number | [number, number], options: Pool2dOptions & { dilation?: number | [number, number] } = {}) {
    super();
    this.attrs = poolAttrs(kernelSize, options, 'MaxPool2d');
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('maxPool2d', path || 'MaxPool2d', this.attrs, [x]);
  }
}

export class AvgPool2d extends Module {
  readonly attrs: Pool2dAttrs;
  constructor(kernelSize: number | [number, number], options: Pool2dOptions & { countIncludePad?: boolean } = {}) {
    super();
    this.attrs = poolAttrs(kernelSize, options, 'AvgPool2d');
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('avgPool2d', path || 'AvgPool2d', this.attrs, [x]);
  }
}

export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(outputSize: number | [number, number] = 1) {
    super();
    this.outputSize = pair(outputSize, 'AdaptiveAvgPool2d outputSize');
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('adaptiveAvgPool2d', path || 'AdaptiveAvgPool2d', { outputSize: this.outputSize }, [x]);
  }
}
