import type { KernelFactory } from '../../backend.js';
import { activate } from '../../../ops/activation-math.js';
import type { HostArena } from '../../arena.js';

/** Direct convolution, the plainest loop nest that follows PyTorch's definition. */
export const conv2dReference =
  (arena: HostArena): KernelFactory<'conv2d'> =>
  ({ attrs, params, inputShapes: [xs], outputShape: ys }) => {
    const a = attrs;
    const [n, cin, h, w] = xs;
    const [, cout, oh, ow] = ys;
    const [kh, kw] = a.kernel;
    const [sh, sw] = a.stride;
    const [dh, dw] = a.dilation;
    const [pt, pl] = a.padding;
    const cinG = cin / a.groups;
    const coutG = cout / a.groups;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n * cin * h * w);
        const y = arena.f32(yp, n * cout * oh * ow);
        const weight = arena.param(params.weight);
        const bias = params.bias ? arena.param(params.bias) : undefined;
        for (let b = 0; b < n; b++) {
          for (let co = 0; co < cout; co++) {
            const g = Math.floor(co / coutG);
            for (let oy = 0; oy < oh; oy++) {
              for (let ox = 0; ox < ow; ox++) {
                let acc = bias ? bias[co] : 0;
                for (let ci = 0; ci < cinG; ci++) {
                  const c = g * cinG + ci;
                  for (let ky = 0; ky < kh; ky++) {
                    const iy = oy * sh - pt + ky * dh;
                    if (iy < 0 || iy >= h) continue;
                    for (let kx = 0; kx < kw; kx++) {
                      const ix = ox * sw - pl + kx * dw;
                      if (ix < 0 || ix >= w) continue;
                      acc += x[((b * cin + c) * h + iy) * w + ix] * weight[((co * cinG + ci) * kh + ky) * kw + kx];
                    }
                  }
                }
                y[((b * cout + co) * oh + oy) * ow + ox] = activate(acc, a.activation.kind, a.activation.alpha);
              }
            }
          }
        }
      },
    };
  };
