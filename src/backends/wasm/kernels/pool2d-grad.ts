import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';

export const maxPool2dGradWasm =
  ({ exports }: WasmContext): KernelFactory<'maxPool2dGrad'> =>
  ({ attrs, inputShapes: [dys, xs] }) => {
    const { kernel: k, stride: s, padding: p, dilation: d } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    return {
      scratchBytes: 0,
      run([dy, x], dx) {
        exports.f32_maxpool2d_grad_nchw(dy, x, dx, n * c, h, w, oh, ow, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]);
      },
    };
  };

export const avgPool2dGradWasm =
  ({ exports }: WasmContext): KernelFactory<'avgPool2dGrad'> =>
  ({ attrs, inputShapes: [dys], outputShape: xs }) => {
    const { kernel: k, stride: s, padding: p, countIncludePad } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    return {
      scratchBytes: 0,
      run([dy], dx) {
        exports.f32_avgpool2d_grad_nchw(dy, dx, n * c, h, w, oh, ow, k[0], k[1], s[0], s[1], p[0], p[1], countIncludePad ? 1 : 0);
      },
    };
  };

export const adaptiveAvgPool2dGradWasm =
  ({ exports }: WasmContext): KernelFactory<'adaptiveAvgPool2dGrad'> =>
  ({ inputShapes: [dys], outputShape: xs }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    return {
      scratchBytes: 0,
      run([dy], dx) {
        exports.f32_adaptive_avgpool2d_grad_nchw(dy, dx, n * c, h, w, oh, ow);
      },
    };
  };
