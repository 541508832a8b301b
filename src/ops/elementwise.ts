import { shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import type { DropoutAttrs, DropoutGenerator, OpDef } from './types.js';
import { expectRank } from './util.js';

export const activationOp: OpDef<'activation'> = {
  name: 'activation',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([x]) => x,
  flops: ([x]) => sizeOf(x),
};

export const addOp: OpDef<'add'> = {
  name: 'add',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([a, b]) {
    if (!shapesEqual(a, b)) throw new Error(`cannot add ${shapeToString(a)} and ${shapeToString(b)}: shapes differ`);
    return a;
  },
  flops: ([a]) => sizeOf(a),
};

/** The generator a dropout kernel draws from: the layer's own, or one of the kernel's (count from 0). */
export function dropoutGenerator(attrs: DropoutAttrs): DropoutGenerator {
  return attrs.generator ?? { seed: attrs.seed, calls: 0 };
}

/** The seed of the generator's next mask (draw `calls` of `seed`), advancing it: every backend draws through this. */
export function nextMaskSeed(g: DropoutGenerator): number {
  return g.seed + g.calls++ * 7919;
}

export const dropoutOp: OpDef<'dropout'> = {
  name: 'dropout',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([x]) => x,
  flops: ([x]) => sizeOf(x),
  alias: (a) => !a.training || a.p === 0,
};

export const batchNorm2dOp: OpDef<'batchNorm2d'> = {
  name: 'batchNorm2d',
  arity: 1,
  paramShapes: (a) => ({
    weight: [a.numFeatures],
    bias: [a.numFeatures],
    running_mean: [a.numFeatures],
    running_var: [a.numFeatures],
  }),
  inferShape([x], a) {
    expectRank(x, 4, '[N, C, H, W]');
    if (x[1] !== a.numFeatures) {
      throw new Error(`expected ${a.numFeatures} channels ([N, ${a.numFeatures}, H, W]), got ${shapeToString(x)}`);
    }
    return x;
  },
  flops: ([x]) => 2 * sizeOf(x),
};
