import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { poolPlanes } from './pool-planes.js';

// Each N·C plane's dX depends on that plane's dY (and X) only: poolPlanes splits large tensors by planes.

export const maxPool2dGradWasm =
  (ctx: WasmContext): KernelFactory<'maxPool2dGrad'> =>
  ({ attrs, inputShapes: [dys, xs] }) => {
    const { kernel: k, stride: s, padding: p, dilation: d } = attrs;
    const pool = poolPlanes(ctx, xs, dys);
    const { h, w, oh, ow } = pool;
    const args = [h, w, oh, ow, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]];
    return {
      scratchBytes: 0,
      run: ([dy, x], dx) => pool.run('f32_maxpool2d_grad_nchw', 'yxx', [dy, x, dx], args),
    };
  };

export const avgPool2dGradWasm =
  (ctx: WasmContext): KernelFactory<'avgPool2dGrad'> =>
  ({ attrs, inputShapes: [dys], outputShape: xs }) => {
    const { kernel: k, stride: s, padding: p, countIncludePad } = attrs;
    const pool = poolPlanes(ctx, xs, dys);
    const { h, w, oh, ow } = pool;
    const args = [h, w, oh, ow, k[0], k[1], s[0], s[1], p[0], p[1], countIncludePad ? 1 : 0];
    return {
      scratchBytes: 0,
      run: ([dy], dx) => pool.run('f32_avgpool2d_grad_nchw', 'yx', [dy, dx], args),
    };
  };

export const adaptiveAvgPool2dGradWasm =
  (ctx: WasmContext): KernelFactory<'adaptiveAvgPool2dGrad'> =>
  ({ inputShapes: [dys], outputShape: xs }) => {
    const pool = poolPlanes(ctx, xs, dys);
    const { h, w, oh, ow } = pool;
    return {
      scratchBytes: 0,
      run: ([dy], dx) => pool.run('f32_adaptive_avgpool2d_grad_nchw', 'yx', [dy, dx], [h, w, oh, ow]),
    };
  };
