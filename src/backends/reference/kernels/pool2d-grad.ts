import type { HostArena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';
import { avgPoolWindow } from './pool2d.js';

/** Each dY goes to its window's argmax, recomputed from X with the forward's rule (first max, NaN wins). */
export const maxPool2dGradReference =
  (arena: HostArena): KernelFactory<'maxPool2dGrad'> =>
  ({ attrs, inputShapes: [dys, xs] }) => {
    const { kernel, stride, padding, dilation } = attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    return {
      scratchBytes: 0,
      run([dyp, xp], dxp) {
        const dy = arena.f32(dyp, n * c * oh * ow);
        const x = arena.f32(xp, n * c * h * w);
        const dx = arena.f32(dxp, n * c * h * w);
        dx.fill(0);
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              let best = Number.NEGATIVE_INFINITY;
              let at = -1;
              for (let ky = 0; ky < kernel[0]; ky++) {
                const iy = oy * stride[0] - padding[0] + ky * dilation[0];
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < kernel[1]; kx++) {
                  const ix = ox * stride[1] - padding[1] + kx * dilation[1];
                  if (ix < 0 || ix >= w) continue;
                  const v = x[(p * h + iy) * w + ix];
                  if (at < 0 || v > best || Number.isNaN(v)) {
                    best = v;
                    at = (p * h + iy) * w + ix;
                  }
                }
              }
              if (at >= 0) dx[at] += dy[(p * oh + oy) * ow + ox];
            }
          }
        }
      },
    };
  };

/** dY / divisor spread over the window's cells inside the input (same divisor rule as the forward). */
export const avgPool2dGradReference =
  (arena: HostArena): KernelFactory<'avgPool2dGrad'> =>
  ({ attrs, inputShapes: [dys], outputShape: xs }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    return {
      scratchBytes: 0,
      run([dyp], dxp) {
        const dy = arena.f32(dyp, n * c * oh * ow);
        const dx = arena.f32(dxp, n * c * h * w);
        dx.fill(0);
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              const { y0, y1, x0, x1, divisor } = avgPoolWindow(oy, ox, h, w, attrs);
              const d = dy[(p * oh + oy) * ow + ox] / divisor;
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[(p * h + iy) * w + ix] += d;
            }
          }
        }
      },
    };
  };

export const adaptiveAvgPool2dGradReference =
  (arena: HostArena): KernelFactory<'adaptiveAvgPool2dGrad'> =>
  ({ inputShapes: [dys], outputShape: xs }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = dys;
    return {
      scratchBytes: 0,
      run([dyp], dxp) {
        const dy = arena.f32(dyp, n * c * oh * ow);
        const dx = arena.f32(dxp, n * c * h * w);
        dx.fill(0);
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < oh; oy++) {
            const y0 = Math.floor((oy * h) / oh);
            const y1 = Math.ceil(((oy + 1) * h) / oh);
            for (let ox = 0; ox < ow; ox++) {
              const x0 = Math.floor((ox * w) / ow);
              const x1 = Math.ceil(((ox + 1) * w) / ow);
              const d = dy[(p * oh + oy) * ow + ox] / ((y1 - y0) * (x1 - x0));
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[(p * h + iy) * w + ix] += d;
            }
          }
        }
      },
    };
  };
