import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { planeRanges, runRanges } from './parallel.js';

// Pooling computes each N·C plane on its own: large tensors are split across threads by whole planes.

/** Max pooling: one call per range of N·C planes; the kernel picks its SIMD path from the stride. */
export const maxPool2dWasm =
  (ctx: WasmContext): KernelFactory<'maxPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, dilation } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    const ranges = planeRanges(ctx, n * c, h * w);
    return {
      scratchBytes: 0,
      run([x], y) {
        runRanges(ctx, ranges, (call, p0, p1) =>
          call(
            'f32_maxpool2d_nchw',
            x + 4 * p0 * h * w,
            y + 4 * p0 * oh * ow,
            p1 - p0,
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
          ),
        );
      },
    };
  };

/** Average pooling (PyTorch ignores dilation here, and so do we: the op's dilation is 1). */
export const avgPool2dWasm =
  (ctx: WasmContext): KernelFactory<'avgPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, countIncludePad } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    const countPad = countIncludePad ? 1 : 0;
    const ranges = planeRanges(ctx, n * c, h * w);
    return {
      scratchBytes: 0,
      run([x], y) {
        runRanges(ctx, ranges, (call, p0, p1) =>
          call(
            'f32_avgpool2d_nchw',
            x + 4 * p0 * h * w,
            y + 4 * p0 * oh * ow,
            p1 - p0,
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
          ),
        );
      },
    };
  };

/** Adaptive average pooling; output 1×1 (global average pooling) takes the SIMD plane-sum path. */
export const adaptiveAvgPool2dWasm =
  (ctx: WasmContext): KernelFactory<'adaptiveAvgPool2d'> =>
  ({ inputShapes: [xs], outputShape: ys }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    const global = oh === 1 && ow === 1;
    const ranges = planeRanges(ctx, n * c, h * w);
    return {
      scratchBytes: 0,
      run([x], y) {
        runRanges(ctx, ranges, (call, p0, p1) => {
          const xp = x + 4 * p0 * h * w;
          const yp = y + 4 * p0 * oh * ow;
          if (global) call('f32_global_avgpool_nchw', xp, yp, p1 - p0, h * w);
          else call('f32_adaptive_avgpool2d_nchw', xp, yp, p1 - p0, h, w, oh, ow);
        });
      },
    };
  };
