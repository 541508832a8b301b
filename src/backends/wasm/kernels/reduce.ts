import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import type { KernelFactory } from '../../backend.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { WasmContext } from '../context.js';
import { intArrays } from './tensor-ops.js';

const reduceCode = { sum: 0, mean: 1, max: 2 } as const;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** The reduced axes as runs of adjacent axes (dimensions of 1 dropped: nothing to reduce there). */
function axisRuns(shape: readonly number[], axes: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    if (shape[a] === 1) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  return runs;
}

/**
 * A reduction as one [outer, r, inner] pass per run of adjacent reduced axes (assembly/reduce.ts), last
 * run first; passes between the first and the last write into scratch. A mean of means over equal groups
 * is the mean, so each pass of a mean divides by its own count.
 */
export const reduceWasm =
  ({ exports, arena }: WasmContext): KernelFactory<'reduce'> =>
  ({ attrs, inputShapes: [xs] }) => {
    const runs = axisRuns(xs, attrs.axes).reverse();
    const code = reduceCode[attrs.kind];
    const bytes = 4 * sizeOf(keptShape(xs, attrs.axes));
    if (runs.length === 0) return { scratchBytes: 0, run: ([x], y) => arena.copy(x, y, bytes) };
    const passes: [number, number, number][] = [];
    let cur = [...xs];
    for (const [s, e] of runs) {
      passes.push([sizeOf(cur.slice(0, s)), sizeOf(cur.slice(s, e)), sizeOf(cur.slice(e))]);
      cur = cur.map((d, i) => (i >= s && i < e ? 1 : d));
    }
    const mid = align16(4 * passes[0][0] * passes[0][2]);
    return {
      scratchBytes: passes.length > 2 ? 2 * mid : passes.length > 1 ? mid : 0,
      run([x], y, scratch) {
        let src = x;
        passes.forEach(([outer, r, inner], k) => {
          const dst = k === passes.length - 1 ? y : scratch + (k % 2) * mid;
          exports.f32_reduce(src, dst, outer, r, inner, code);
          src = dst;
        });
      },
    };
  };

/** Broadcast copy: the transpose odometer with stride 0 along broadcast axes, then the scale. */
export const expandWasm =
  (ctx: WasmContext): KernelFactory<'expand'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(outputShape);
    const { scale } = attrs;
    const finish = (y: number) => {
      if (scale !== 1) ctx.exports.f32_scale(y, y, n, scale);
    };
    if (outputShape.length === 0)
      return {
        scratchBytes: 0,
        run: ([x], y) => {
          ctx.arena.copy(x, y, 4);
          finish(y);
        },
      };
    const arrays = intArrays(ctx, [outputShape, broadcastStrides(xs, outputShape)], outputShape.length);
    const [shape, strides, idx] = arrays.ptrs;
    return {
      scratchBytes: 0,
      run([x], y) {
        ctx.exports.f32_transpose(x, y, n, outputShape.length, shape, strides, idx);
        finish(y);
      },
      dispose: arrays.free,
    };
  };

/** A strided slice: the transpose odometer from the first element read, each stride times its step. */
export const sliceWasm =
  (ctx: WasmContext): KernelFactory<'slice'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const m = sizeOf(outputShape);
    if (m === 0) return { scratchBytes: 0, run: () => {} };
    const inStrides = broadcastStrides(xs, xs);
    const base = 4 * attrs.starts.reduce((s, st, d) => s + st * inStrides[d], 0);
    const arrays = intArrays(ctx, [outputShape, attrs.steps.map((s, d) => s * inStrides[d])], xs.length);
    const [shape, strides, idx] = arrays.ptrs;
    return {
      scratchBytes: 0,
      run: ([x], y) => ctx.exports.f32_transpose(x + base, y, m, xs.length, shape, strides, idx),
      dispose: arrays.free,
    };
  };
