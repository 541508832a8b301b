import { shapeToString } from '../core/shape.js';
import type { OpDef } from './types.js';

export const linearOp: OpDef<'linear'> = {
  name: 'linear',
  arity: 1,
  paramShapes: (a) => ({
    weight: [a.outFeatures, a.inFeatures],
    ...(a.bias ? { bias: [a.outFeatures] } : {}),
  }),
  inferShape([x], a) {
    if (x.length < 1 || x[x.length - 1] !== a.inFeatures) {
      throw new Error(`expected input [*, ${a.inFeatures}] (inFeatures = ${a.inFeatures}), got ${shapeToString(x)}`);
    }
    return [...x.slice(0, -1), a.outFeatures];
  },
  flops: ([x], _, a) => 2 * x.reduce((p, d) => p * d, 1) * a.outFeatures,
};
