import type { Graph, ValueId } from '../../graph/ir.js';
import type { ActivationKind } from '../../ops/types.js';
import { Module } from '../module.js';

abstract class ActivationModule extends Module {
  constructor(
    private readonly kind: ActivationKind,
    private readonly alpha = 0,
  ) {
    super();
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('activation', path || this.constructor.name, { kind: this.kind, alpha: this.alpha }, [x]);
  }
}

export class ReLU extends ActivationModule {
  constructor() {
    super('relu');
  }
}

export class ReLU6 extends ActivationModule {
  constructor() {
    super('relu6');
  }
}

export class LeakyReLU extends ActivationModule {
  constructor(negativeSlope = 0.01) {
    super('leakyRelu', negativeSlope);
  }
}

export class Sigmoid extends ActivationModule {
  constructor() {
    super('sigmoid');
  }
}

export class Tanh extends ActivationModule {
  constructor() {
    super('tanh');
  }
}
