import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { poolPlanes } from './pool-planes.js';

/** Max pooling: one call per range of N·C planes; the kernel picks its SIMD path from the stride. */
export const maxPool2dWasm =
  (ctx: WasmContext): KernelFactory<'maxPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, dilation } = attrs;
    const pool = poolPlanes(ctx, xs, ys);
    const { h, w, oh, ow } = pool;
    const args = [h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]];
    return {
      scratchBytes: 0,
      run: ([x], y) => pool.run('f32_maxpool2d_nchw', 'xy', [x, y], args),
    };
  };

/** Average pooling (PyTorch ignores dilation here, and so do we: the op's dilation is 1). */
export const avgPool2dWasm =
  (ctx: WasmContext): KernelFactory<'avgPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, countIncludePad } = attrs;
    const pool = poolPlanes(ctx, xs, ys);
    const { h, w, oh, ow } = pool;
    const args = [h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], countIncludePad ? 1 : 0];
    return {
      scratchBytes: 0,
      run: ([x], y) => pool.run('f32_avgpool2d_nchw', 'xy', [x, y], args),
    };
  };

/** Adaptive average pooling; output 1×1 (global average pooling) takes the SIMD plane-sum path. */
export const adaptiveAvgPool2dWasm =
  (ctx: WasmContext): KernelFactory<'adaptiveAvgPool2d'> =>
  ({ inputShapes: [xs], outputShape: ys }) => {
    const pool = poolPlanes(ctx, xs, ys);
    const { h, w, oh, ow } = pool;
    const global = oh === 1 && ow === 1;
    return {
      scratchBytes: 0,
      run([x], y) {
        if (global) pool.run('f32_global_avgpool_nchw', 'xy', [x, y], [h * w]);
        else pool.run('f32_adaptive_avgpool2d_nchw', 'xy', [x, y], [h, w, oh, ow]);
      },
    };
  };
