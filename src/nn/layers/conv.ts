import { ArgumentError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import type { Graph, ValueId } from '../../graph/ir.js';
import { type Conv2dAttrs, noActivation } from '../../ops/types.js';
import { initLikeTorch } from '../init.js';
import { Module } from '../module.js';
import { pair } from './util.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** A number or [h, w] per side, 'valid' (0) or 'same' (stride 1 only, as in PyTorch). */
  padding?: number | [number, number] | 'same' | 'valid';
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly attrs: Conv2dAttrs;

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], options: Conv2dOptions = {}) {
    super();
    for (const [name, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`Conv2d: ${name} must be a positive integer, got ${v}`);
    }
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups || outChannels % groups) {
      throw new ArgumentError(
        `Conv2d: groups (${groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`,
      );
    }
    const kernel = pair(kernelSize, 'Conv2d kernelSize');
    const stride = pair(options.stride ?? 1, 'Conv2d stride');
    const dilation = pair(options.dilation ?? 1, 'Conv2d dilation');
    const padding = resolvePadding(options.padding ?? 0, kernel, stride, dilation);
    const bias = options.bias ?? true;
    this.attrs = { inChannels, outChannels, kernel, stride, padding, dilation, groups, bias, activation: noActivation };
    this.weight = this.registerParameter('weight', new Parameter([outChannels, inChannels / groups, kernel[0], kernel[1]]));
    this.bias = bias ? this.registerParameter('bias', new Parameter([outChannels])) : undefined;
    initLikeTorch(this.weight, this.bias, (inChannels / groups) * kernel[0] * kernel[1]);
  }

  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    const params: Record<string, Parameter> = { weight: this.weight };
    if (this.bias) params.bias = this.bias;
    return graph.addNode('conv2d', path || 'Conv2d', this.attrs, [x], params);
  }
}

function resolvePadding(
  padding: Conv2dOptions['padding'],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new ArgumentError("Conv2d: padding 'same' needs stride 1 (as in PyTorch)");
    // PyTorch puts the odd extra cell at the end (bottom/right).
    const totalH = dilation[0] * (kernel[0] - 1);
    const totalW = dilation[1] * (kernel[1] - 1);
    return [totalH >> 1, totalW >> 1, totalH - (totalH >> 1), totalW - (totalW >> 1)];
  }
  const [ph, pw] = pair(padding ?? 0, 'Conv2d padding', 0);
  return [ph, pw, ph, pw];
}
