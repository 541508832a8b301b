import { shapeToString } from '../core/shape.js';
import type { OpDef, Pool2dAttrs } from './types.js';
import { expectRank, windowOutputSize } from './util.js';

function inferPoolShape([x]: readonly (readonly number[])[], a: Pool2dAttrs): number[] {
  expectRank(x, 4, '[N, C, H, W]');
  for (const axis of [0, 1]) {
    if (a.padding[axis] * 2 > a.kernel[axis]) {
      throw new Error(`padding ${a.padding[axis]} must be at most half the kernel size ${a.kernel[axis]}`);
    }
  }
  const h = windowOutputSize(x[2], a.kernel[0], a.stride[0], a.padding[0], a.padding[0], a.dilation[0], a.ceilMode);
  const w = windowOutputSize(x[3], a.kernel[1], a.stride[1], a.padding[1], a.padding[1], a.dilation[1], a.ceilMode);
  if (h <= 0 || w <= 0) {
    throw new Error(`input ${shapeToString(x)} is smaller than the ${a.kernel[0]}x${a.kernel[1]} window`);
  }
  return [x[0], x[1], h, w];
}

export const maxPool2dOp: OpDef<'maxPool2d'> = {
  name: 'maxPool2d',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: inferPoolShape,
  flops: (_, out, a) => out[0] * out[1] * out[2] * out[3] * a.kernel[0] * a.kernel[1],
};

export const avgPool2dOp: OpDef<'avgPool2d'> = {
  name: 'avgPool2d',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: inferPoolShape,
  flops: (_, out, a) => out[0] * out[1] * out[2] * out[3] * a.kernel[0] * a.kernel[1],
};

export const adaptiveAvgPool2dOp: OpDef<'adaptiveAvgPool2d'> = {
  name: 'adaptiveAvgPool2d',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    expectRank(x, 4, '[N, C, H, W]');
    return [x[0], x[1], a.outputSize[0], a.outputSize[1]];
  },
  flops: ([x]) => x[0] * x[1] * x[2] * x[3],
};
