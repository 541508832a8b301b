import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';

/** Max pooling: one call over all N·C planes; the kernel picks its SIMD path from the stride. */
export const maxPool2dWasm =
  ({ exports }: WasmContext): KernelFactory<'maxPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, dilation } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    const planes = n * c;
    return {
      scratchBytes: 0,
      run([x], y) {
        exports.f32_maxpool2d_nchw(
          x,
          y,
          planes,
          h,
          w,
          oh,
          ow,
          kernel[0],
          kernel[1],
          stride[0],
          stride[1],
          padding[0],
          padding[1],
          dilation[0],
          dilation[1],
        );
      },
    };
  };

/** Average pooling (PyTorch ignores dilation here, and so do we: the op's dilation is 1). */
export const avgPool2dWasm =
  ({ exports }: WasmContext): KernelFactory<'avgPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, countIncludePad } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    const planes = n * c;
    const countPad = countIncludePad ? 1 : 0;
    return {
      scratchBytes: 0,
      run([x], y) {
        exports.f32_avgpool2d_nchw(
          x,
          y,
          planes,
          h,
          w,
          oh,
          ow,
          kernel[0],
          kernel[1],
          stride[0],
          stride[1],
          padding[0],
          padding[1],
          countPad,
        );
      },
    };
  };

/** Adaptive average pooling; output 1×1 (global average pooling) takes the SIMD plane-sum path. */
export const adaptiveAvgPool2dWasm =
  ({ exports }: WasmContext): KernelFactory<'adaptiveAvgPool2d'> =>
  ({ inputShapes: [xs], outputShape: ys }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    const planes = n * c;
    const global = oh === 1 && ow === 1;
    return {
      scratchBytes: 0,
      run([x], y) {
        if (global) exports.f32_global_avgpool_nchw(x, y, planes, h * w);
        else exports.f32_adaptive_avgpool2d_nchw(x, y, planes, h, w, oh, ow);
      },
    };
  };
