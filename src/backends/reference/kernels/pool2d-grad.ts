import type { HostArena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';
import { adaptiveWindow, avgPoolWindow, maxPoolArgmax } from './pool2d.js';

/** Each dY goes to its window's argmax, recomputed from X by the forward's maxPoolArgmax. */
export const maxPool2dGradReference =
  (arena: HostArena): KernelFactory<'maxPool2dGrad'> =>
  ({ attrs, inputShapes: [dys, xs] }) => {
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
              const at = maxPoolArgmax(x, p, oy, ox, h, w, attrs);
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
            const [y0, y1] = adaptiveWindow(oy, h, oh);
            for (let ox = 0; ox < ow; ox++) {
              const [x0, x1] = adaptiveWindow(ox, w, ow);
              const d = dy[(p * oh + oy) * ow + ox] / ((y1 - y0) * (x1 - x0));
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[(p * h + iy) * w + ix] += d;
            }
          }
        }
      },
    };
  };
