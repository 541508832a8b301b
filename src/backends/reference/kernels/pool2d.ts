import type { KernelFactory } from '../../backend.js';
import type { HostArena } from '../../arena.js';

export const maxPool2dReference =
  (arena: HostArena): KernelFactory<'maxPool2d'> =>
  ({ node, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, dilation } = node.attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n * c * h * w);
        const y = arena.f32(yp, n * c * oh * ow);
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              let best = Number.NEGATIVE_INFINITY;
              for (let ky = 0; ky < kernel[0]; ky++) {
                const iy = oy * stride[0] - padding[0] + ky * dilation[0];
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < kernel[1]; kx++) {
                  const ix = ox * stride[1] - padding[1] + kx * dilation[1];
                  if (ix < 0 || ix >= w) continue;
                  const v = x[(p * h + iy) * w + ix];
                  if (v > best || Number.isNaN(v)) best = v;
                }
              }
              y[(p * oh + oy) * ow + ox] = best;
            }
          }
        }
      },
    };
  };

/** PyTorch's divisor: the window clipped to input+padding (countIncludePad) or to the input alone. */
export const avgPool2dReference =
  (arena: HostArena): KernelFactory<'avgPool2d'> =>
  ({ node, inputShapes: [xs], outputShape: ys }) => {
    const { kernel, stride, padding, countIncludePad } = node.attrs;
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n * c * h * w);
        const y = arena.f32(yp, n * c * oh * ow);
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              const y0 = oy * stride[0] - padding[0];
              const x0 = ox * stride[1] - padding[1];
              const y1 = Math.min(y0 + kernel[0], h + padding[0]);
              const x1 = Math.min(x0 + kernel[1], w + padding[1]);
              const padCount = (y1 - y0) * (x1 - x0);
              const ys0 = Math.max(y0, 0);
              const xs0 = Math.max(x0, 0);
              const ys1 = Math.min(y1, h);
              const xs1 = Math.min(x1, w);
              let sum = 0;
              for (let iy = ys0; iy < ys1; iy++) for (let ix = xs0; ix < xs1; ix++) sum += x[(p * h + iy) * w + ix];
              const divisor = countIncludePad ? padCount : (ys1 - ys0) * (xs1 - xs0);
              y[(p * oh + oy) * ow + ox] = sum / divisor;
            }
          }
        }
      },
    };
  };

export const adaptiveAvgPool2dReference =
  (arena: HostArena): KernelFactory<'adaptiveAvgPool2d'> =>
  ({ inputShapes: [xs], outputShape: ys }) => {
    const [n, c, h, w] = xs;
    const [, , oh, ow] = ys;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n * c * h * w);
        const y = arena.f32(yp, n * c * oh * ow);
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < oh; oy++) {
            const y0 = Math.floor((oy * h) / oh);
            const y1 = Math.ceil(((oy + 1) * h) / oh);
            for (let ox = 0; ox < ow; ox++) {
              const x0 = Math.floor((ox * w) / ow);
              const x1 = Math.ceil(((ox + 1) * w) / ow);
              let sum = 0;
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[(p * h + iy) * w + ix];
              y[(p * oh + oy) * ow + ox] = sum / ((y1 - y0) * (x1 - x0));
            }
          }
        }
      },
    };
  };
