import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { planeRanges, runRanges } from './parallel.js';

// Each N·C plane's dX depends on that plane's dY (and X) only: large tensors split by whole planes.

export const maxPool2dGradWasm =
  (ctx: WasmContext): KernelFactory<'maxPool2dGrad'> =>
  ({ attrs, inputShapes: [dys, xs] }) => {
    const { kernel: k, stride: s, padding: p, dilation: d } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    const ranges = planeRanges(ctx, n * c, h * w);
    return {
      scratchBytes: 0,
      run([dy, x], dx) {
        runRanges(ctx, ranges, (call, p0, p1) => {
          const xo = 4 * p0 * h * w;
          call(
            'f32_maxpool2d_grad_nchw',
            dy + 4 * p0 * oh * ow,
            x + xo,
            dx + xo,
            p1 - p0,
            h,
            w,
            oh,
            ow,
            k[0],
            k[1],
            s[0],
            s[1],
            p[0],
            p[1],
            d[0],
            d[1],
          );
        });
      },
    };
  };

export const avgPool2dGradWasm =
  (ctx: WasmContext): KernelFactory<'avgPool2dGrad'> =>
  ({ attrs, inputShapes: [dys], outputShape: xs }) => {
    const { kernel: k, stride: s, padding: p, countIncludePad } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    const ranges = planeRanges(ctx, n * c, h * w);
    const countPad = countIncludePad ? 1 : 0;
    return {
      scratchBytes: 0,
      run([dy], dx) {
        runRanges(ctx, ranges, (call, p0, p1) =>
          call(
            'f32_avgpool2d_grad_nchw',
            dy + 4 * p0 * oh * ow,
            dx + 4 * p0 * h * w,
            p1 - p0,
            h,
            w,
            oh,
            ow,
            k[0],
            k[1],
            s[0],
            s[1],
            p[0],
            p[1],
            countPad,
          ),
        );
      },
    };
  };

export const adaptiveAvgPool2dGradWasm =
  (ctx: WasmContext): KernelFactory<'adaptiveAvgPool2dGrad'> =>
  ({ inputShapes: [dys], outputShape: xs }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    const ranges = planeRanges(ctx, n * c, h * w);
    return {
      scratchBytes: 0,
      run([dy], dx) {
        runRanges(ctx, ranges, (call, p0, p1) =>
          call('f32_adaptive_avgpool2d_grad_nchw', dy + 4 * p0 * oh * ow, dx + 4 * p0 * h * w, p1 - p0, h, w, oh, ow),
        );
      },
    };
  };
