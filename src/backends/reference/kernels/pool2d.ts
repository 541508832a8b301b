import type { Pool2dAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import type { HostArena } from '../../arena.js';

/** Max pooling: each output is x at its window's maxPoolArgmax (−∞ for a window wholly in the padding). */
export const maxPool2dReference =
  (arena: HostArena): KernelFactory<'maxPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
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
              const at = maxPoolArgmax(x, p, oy, ox, h, w, attrs);
              y[(p * oh + oy) * ow + ox] = at < 0 ? Number.NEGATIVE_INFINITY : x[at];
            }
          }
        }
      },
    };
  };

/** Average pooling; the window and divisor rule is avgPoolWindow below, shared with the backward. */
export const avgPool2dReference =
  (arena: HostArena): KernelFactory<'avgPool2d'> =>
  ({ attrs, inputShapes: [xs], outputShape: ys }) => {
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
              const { y0, y1, x0, x1, divisor } = avgPoolWindow(oy, ox, h, w, attrs);
              let sum = 0;
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[(p * h + iy) * w + ix];
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
            const [y0, y1] = adaptiveWindow(oy, h, oh);
            for (let ox = 0; ox < ow; ox++) {
              const [x0, x1] = adaptiveWindow(ox, w, ow);
              let sum = 0;
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[(p * h + iy) * w + ix];
              y[(p * oh + oy) * ow + ox] = sum / ((y1 - y0) * (x1 - x0));
            }
          }
        }
      },
    };
  };

/**
 * The cells of one average-pooling window that lie inside the input, and PyTorch's divisor for it: the
 * window clipped to input+padding (countIncludePad) or to the input alone. Forward and backward share it.
 */
export function avgPoolWindow(
  oy: number,
  ox: number,
  h: number,
  w: number,
  { kernel, stride, padding, countIncludePad }: Pool2dAttrs,
): { y0: number; y1: number; x0: number; x1: number; divisor: number } {
  const top = oy * stride[0] - padding[0];
  const left = ox * stride[1] - padding[1];
  const bottom = Math.min(top + kernel[0], h + padding[0]);
  const right = Math.min(left + kernel[1], w + padding[1]);
  const y0 = Math.max(top, 0);
  const x0 = Math.max(left, 0);
  const y1 = Math.min(bottom, h);
  const x1 = Math.min(right, w);
  const divisor = countIncludePad ? (bottom - top) * (right - left) : (y1 - y0) * (x1 - x0);
  return { y0, y1, x0, x1, divisor };
}

/**
 * The flat index in x of the max of one max-pooling window over plane p: the first maximum, except that a
 * NaN wins (and a later NaN takes over), as PyTorch; -1 when no cell of the window lies inside the input.
 * The forward reads the value there, the backward sends dY there.
 */
export function maxPoolArgmax(
  x: Float32Array,
  p: number,
  oy: number,
  ox: number,
  h: number,
  w: number,
  { kernel, stride, padding, dilation }: Pool2dAttrs,
): number {
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
  return at;
}

/** Adaptive pooling's window along one axis for output index o: [floor(o·size/outSize), ceil((o+1)·size/outSize)). */
export function adaptiveWindow(o: number, size: number, outSize: number): [number, number] {
  return [Math.floor((o * size) / outSize), Math.ceil(((o + 1) * size) / outSize)];
}
