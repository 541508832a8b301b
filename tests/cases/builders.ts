import type { Conv2dAttrs, Pool2dAttrs } from '../../src/ops/types.js';
import { noActivation } from '../../src/ops/types.js';
import type { OpCase } from '../helpers/single-op.js';

/** A conv2d case: 3×3, stride 1, no padding, bias, no activation unless `o` says otherwise. */
export function convCase(name: string, x: number[], o: Partial<Conv2dAttrs> & { outChannels: number }): OpCase<'conv2d'> {
  const attrs: Conv2dAttrs = {
    inChannels: x[1],
    kernel: [3, 3],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    groups: 1,
    bias: true,
    activation: noActivation,
    ...o,
  };
  return { name, op: 'conv2d', attrs, inputs: [x] };
}

/** A pooling case: 2×2 window, stride = window, no padding unless `o` says otherwise. */
export function poolCase(name: string, op: 'maxPool2d' | 'avgPool2d', x: number[], o: Partial<Pool2dAttrs>): OpCase {
  const kernel = o.kernel ?? [2, 2];
  const attrs: Pool2dAttrs = {
    kernel,
    stride: kernel,
    padding: [0, 0],
    dilation: [1, 1],
    ceilMode: false,
    countIncludePad: true,
    ...o,
  };
  return { name, op, attrs, inputs: [x] };
}
