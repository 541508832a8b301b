import { ArgumentError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import type { Graph, ValueId } from '../../graph/ir.js';
import { type LinearAttrs, noActivation } from '../../ops/types.js';
import { initLikeTorch } from '../init.js';
import { Module } from '../module.js';

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly attrs: LinearAttrs;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    for (const [name, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`Linear: ${name} must be a positive integer, got ${v}`);
    }
    const bias = options.bias ?? true;
    this.attrs = { inFeatures, outFeatures, bias, activation: noActivation };
    this.weight = this.registerParameter('weight', new Parameter([outFeatures, inFeatures]));
    this.bias = bias ? this.registerParameter('bias', new Parameter([outFeatures])) : undefined;
    initLikeTorch(this.weight, this.bias, inFeatures);
  }

  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    const params: Record<string, Parameter> = { weight: this.weight };
    if (this.bias) params.bias = this.bias;
    return graph.addNode('linear', path || 'Linear', this.attrs, [x], params);
  }
}
