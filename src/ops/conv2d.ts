import { shapeToString } from '../core/shape.js';
import type { OpDef } from './types.js';
import { expectRank, windowOutputSize } from './util.js';

export const conv2dOp: OpDef<'conv2d'> = {
  name: 'conv2d',
  arity: 1,
  paramShapes: (a) => ({
    weight: [a.outChannels, a.inChannels / a.groups, a.kernel[0], a.kernel[1]],
    ...(a.bias ? { bias: [a.outChannels] } : {}),
  }),
  inferShape([x], a) {
    expectRank(x, 4, '[N, C, H, W]');
    if (x[1] !== a.inChannels) {
      throw new Error(`expected ${a.inChannels} input channels ([N, ${a.inChannels}, H, W]), got ${shapeToString(x)}`);
    }
    const [pt, pl, pb, pr] = a.padding;
    const h = windowOutputSize(x[2], a.kernel[0], a.stride[0], pt, pb, a.dilation[0]);
    const w = windowOutputSize(x[3], a.kernel[1], a.stride[1], pl, pr, a.dilation[1]);
    if (h <= 0 || w <= 0) {
      throw new Error(
        `input ${shapeToString(x)} is smaller than the ${a.kernel[0]}x${a.kernel[1]} kernel (output would be ${h}x${w})`,
      );
    }
    return [x[0], a.outChannels, h, w];
  },
  flops: (_, out, a) => 2 * out[0] * out[1] * out[2] * out[3] * (a.inChannels / a.groups) * a.kernel[0] * a.kernel[1],
};
