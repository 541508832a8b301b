import { normalizeDim, shapeToString, sizeOf } from '../core/shape.js';
import type { OpDef } from './types.js';

export const flattenOp: OpDef<'flatten'> = {
  name: 'flatten',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    const start = normalizeDim(a.startDim, x.length, 'flatten');
    const end = normalizeDim(a.endDim, x.length, 'flatten');
    if (start > end) throw new Error(`startDim ${a.startDim} comes after endDim ${a.endDim} for ${shapeToString(x)}`);
    return [...x.slice(0, start), sizeOf(x.slice(start, end + 1)), ...x.slice(end + 1)];
  },
  flops: () => 0,
  alias: () => true,
};

export const softmaxOp: OpDef<'softmax'> = {
  name: 'softmax',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    normalizeDim(a.dim, x.length, 'softmax');
    return x;
  },
  flops: ([x]) => 3 * sizeOf(x),
};
