import type { WasmContext } from '../context.js';
import { planeRanges, runRanges } from './parallel.js';

/**
 * The part every pooling kernel (forward and gradient) shares: each N·C plane is computed on its own, so
 * large tensors are split across threads by whole planes. `xShape` and `yShape` are the forward's input and
 * output shapes (for a gradient, dx has x's and dy has y's).
 */
export function poolPlanes(ctx: WasmContext, xShape: readonly number[], yShape: readonly number[]) {
  const [n, c, h, w] = xShape;
  const [, , oh, ow] = yShape;
  const ranges = planeRanges(ctx, n * c, h * w);
  const floatsPerPlane = { x: h * w, y: oh * ow };
  return {
    h,
    w,
    oh,
    ow,
    /**
     * Calls export `name` once per range of planes as name(...pointers, planes, ...args): each pointer moved
     * to the range's first plane, then the range's plane count, then `args` unchanged. `sides` has one
     * letter a pointer, the forward tensor it is shaped like: 'x' (h × w planes) or 'y' (oh × ow planes).
     */
    run(name: string, sides: string, pointers: readonly number[], args: readonly number[]): void {
      const perPlane = pointers.map((_, i) => {
        const side = sides[i];
        if (side !== 'x' && side !== 'y') throw new Error(`${name}: pointer ${i} has side '${side}' in '${sides}', not x or y`);
        return floatsPerPlane[side];
      });
      runRanges(ctx, ranges, (call, p0, p1) =>
        call(name, ...pointers.map((ptr, i) => ptr + 4 * p0 * perPlane[i]), p1 - p0, ...args),
      );
    },
  };
}
