import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { BinaryKind, GatherAttrs } from '../../../ops/types.js';
import type { KernelFactory, PreparedKernel } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { intArrays } from './tensor-ops.js';

/**
 * Where, Gather and the value-dependent backward ops on wasm (assembly/select.ts). A rank-0 output is
 * viewed as [1] so the kernels' odometer always has a last dimension.
 */

const rank1 = (s: readonly number[]): readonly number[] => (s.length === 0 ? [1] : s);

export const whereWasm =
  (ctx: WasmContext): KernelFactory<'where'> =>
  ({ inputShapes, outputShape }) => {
    const out = rank1(outputShape);
    const arrays = intArrays(ctx, [out, ...inputShapes.map((s) => broadcastStrides(s, out))], out.length);
    const [shape, sc, sx, sy, idx] = arrays.ptrs;
    const n = sizeOf(out);
    return {
      scratchBytes: 0,
      run: ([c, x, y], o) => ctx.exports.f32_where_broadcast(c, x, y, o, n, out.length, shape, sc, sx, sy, idx, 0),
      dispose: arrays.free,
    };
  };

export const whereGradWasm =
  (ctx: WasmContext): KernelFactory<'whereGrad'> =>
  ({ attrs, inputShapes: [cs], outputShape }) => {
    const out = rank1(outputShape);
    const full = broadcastStrides(out, out);
    const arrays = intArrays(ctx, [out, broadcastStrides(cs, out), full], out.length);
    const [shape, sc, sdy, idx] = arrays.ptrs;
    const n = sizeOf(out);
    return {
      scratchBytes: 0,
      run: ([c, dy], dx) =>
        ctx.exports.f32_where_broadcast(c, dy, dy, dx, n, out.length, shape, sc, sdy, sdy, idx, attrs.operand),
      dispose: arrays.free,
    };
  };

/** The gather's [outer, axis, inner] view and its indices as i32s in wasm memory. */
function gatherPlan(ctx: WasmContext, attrs: GatherAttrs, x: readonly number[]) {
  const arrays = intArrays(ctx, [attrs.indices], 0);
  return {
    outer: sizeOf(x.slice(0, attrs.axis)),
    inner: sizeOf(x.slice(attrs.axis + 1)),
    axisSize: x[attrs.axis],
    indices: arrays.ptrs[0],
    count: attrs.indices.length,
    free: arrays.free,
  };
}

export const gatherWasm =
  (ctx: WasmContext): KernelFactory<'gather'> =>
  ({ attrs, inputShapes: [xs] }): PreparedKernel => {
    const g = gatherPlan(ctx, attrs, xs);
    return {
      scratchBytes: 0,
      run: ([x], y) => ctx.exports.f32_gather(x, y, g.outer, g.axisSize, g.inner, g.indices, g.count),
      dispose: g.free,
    };
  };

export const gatherGradWasm =
  (ctx: WasmContext): KernelFactory<'gatherGrad'> =>
  ({ attrs, outputShape }): PreparedKernel => {
    const g = gatherPlan(ctx, attrs, outputShape);
    return {
      scratchBytes: 0,
      run: ([dy], dx) => ctx.exports.f32_gather_grad(dy, dx, g.outer, g.axisSize, g.inner, g.indices, g.count),
      dispose: g.free,
    };
  };

const gradKindCode: Partial<Record<BinaryKind, number>> = { max: 4, min: 5, pow: 6, prelu: 7 };

export const binaryGradWasm =
  (ctx: WasmContext): KernelFactory<'binaryGrad'> =>
  ({ attrs, inputShapes: [, as, bs], outputShape }) => {
    const code = gradKindCode[attrs.kind];
    if (code === undefined) throw new Error(`binaryGrad of '${attrs.kind}' is expressed with binary ops`);
    const out = rank1(outputShape);
    const arrays = intArrays(ctx, [out, broadcastStrides(as, out), broadcastStrides(bs, out)], out.length);
    const [shape, sa, sb, idx] = arrays.ptrs;
    const n = sizeOf(out);
    return {
      scratchBytes: 0,
      run: ([dy, a, b], dx) =>
        ctx.exports.f32_binary_grad_broadcast(dy, a, b, dx, n, out.length, shape, sa, sb, idx, code, attrs.operand),
      dispose: arrays.free,
    };
  };

export const reduceMaxGradWasm =
  (ctx: WasmContext): KernelFactory<'reduceMaxGrad'> =>
  ({ attrs, inputShapes: [, xs] }) => {
    const x = rank1(xs);
    const kept = keptShape(xs, attrs.axes);
    const m = sizeOf(kept);
    const arrays = intArrays(ctx, [x, broadcastStrides(kept, x)], x.length);
    const [shape, sy, idx] = arrays.ptrs;
    const n = sizeOf(x);
    return {
      scratchBytes: 4 * m,
      run: ([dy, xp, y], dx, scratch) => ctx.exports.f32_reduce_max_grad(dy, xp, y, dx, n, m, x.length, shape, sy, idx, scratch),
      dispose: arrays.free,
    };
  };
