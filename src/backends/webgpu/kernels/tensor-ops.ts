// The ONNX breadth ops on WebGPU that move or reduce values: constant, reduce (sum, mean, max over any axes),
// expand, strided slices, where and gather. One invocation per output value, its coordinates split by
// unrolled divisions by the dimensions (stridedWalk), as the other ONNX kernels do: the rank is compiled
// in, extents and strides are uniforms.
import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { GatherAttrs, ReduceAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, f32bits, type GpuContext } from '../program.js';
import { type Shapes, isnanWgsl, programKernel } from './common.js';
import { stridedWalk } from './strided.js';

export const constantWebGpu =
  (ctx: GpuContext): KernelFactory<'constant'> =>
  ({ name, params, outputShape }) => {
    const body = 'fn body(i: u32) { m[u.y + i] = m[u.v + i]; }';
    return programKernel(ctx, `${name} constant`, ['v', 'y'], [{ body, threads: sizeOf(outputShape) }], (_, y) => [
      f(params.value.ptr),
      f(y),
    ]);
  };

/**
 * WGSL of a reduction's index maps: `fn groupBase(o: u32) -> u32`, the input offset of output o's first
 * element (its kept coordinates), and `fn memberOffset(k: u32) -> u32`, the offset of the k-th reduced
 * element from there (row-major over the reduced axes: the reference's summation order); `u.COUNT` is the
 * number of reduced elements per output. Two walks, each of its own rank (G…, K… uniforms).
 */
export function reductionIndex(xs: readonly number[], axes: readonly number[]): { code: string; shapes: Shapes } {
  const inStrides = broadcastStrides(xs, xs);
  const kept = keptShape(xs, axes);
  const reducedDims = axes.map((a) => xs[a]);
  const group = stridedWalk('o', kept, { ix: inStrides.map((s, d) => (axes.includes(d) ? 0 : s)) }, 'G');
  const member = stridedWalk('k', reducedDims, { ix: axes.map((a) => inStrides[a]) }, 'K');
  const code = `fn groupBase(o: u32) -> u32 {
  ${group.code}
  return ix;
}
fn memberOffset(k: u32) -> u32 {
  ${member.code}
  return ix;
}`;
  return { code, shapes: { COUNT: sizeOf(reducedDims), ...group.shapes, ...member.shapes } };
}

/** sum and mean accumulate in f32 (the reference in f64); max: NaN wins, as the reference's. */
function reduceBody(a: ReduceAttrs, index: string): string {
  const step = a.kind === 'max' ? 'if (v > acc || isnan(v)) { acc = v; }' : 'acc += v;';
  const init = a.kind === 'max' ? 'var ninf = 0xff800000u;\n  var acc = bitcast<f32>(ninf);' : 'var acc: f32 = 0.0;';
  const result = a.kind === 'mean' ? 'acc / f32(u.COUNT)' : 'acc';
  return `${isnanWgsl}
${index}
fn body(o: u32) {
  let base = u.x + groupBase(o);
  ${init}
  for (var k: u32 = 0u; k < u.COUNT; k++) {
    let v = m[base + memberOffset(k)];
    ${step}
  }
  m[u.y + o] = ${result};
}`;
}

export const reduceWebGpu =
  (ctx: GpuContext): KernelFactory<'reduce'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const index = reductionIndex(xs, attrs.axes);
    return programKernel(
      ctx,
      `${name} reduce ${attrs.kind}`,
      ['x', 'y'],
      [{ body: reduceBody(attrs, index.code), threads: sizeOf(outputShape) }],
      ([x], y) => [f(x), f(y)],
      { shapes: index.shapes },
    );
  };

/** y = x broadcast to the output shape, times `scale` (one f32 product, as the reference's; float bits). */
export const expandWebGpu =
  (ctx: GpuContext): KernelFactory<'expand'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const walk = stridedWalk('i', outputShape, { ix: broadcastStrides(xs, outputShape) });
    const body = `fn body(i: u32) {
  ${walk.code}
  m[u.y + i] = m[u.x + ix] * bitcast<f32>(u.SCALE);
}`;
    return programKernel(ctx, `${name} expand`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [f(x), f(y)], {
      shapes: { SCALE: f32bits(attrs.scale), ...walk.shapes },
    });
  };

/**
 * y[c…] = x[starts + c·steps…]: a strided walk from the start's offset (BASE) with step × stride per
 * dimension. Steps may be negative: the walk's u32 sum wraps back to the (non-negative) read position.
 */
export const sliceWebGpu =
  (ctx: GpuContext): KernelFactory<'slice'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const inStrides = broadcastStrides(xs, xs);
    const base = attrs.starts.reduce((s, st, d) => s + st * inStrides[d], 0);
    const walk = stridedWalk('i', outputShape, { ix: attrs.steps.map((st, d) => st * inStrides[d]) });
    const body = `fn body(i: u32) {
  ${walk.code}
  m[u.y + i] = m[u.x + u.BASE + ix];
}`;
    return programKernel(ctx, `${name} slice`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [f(x), f(y)], {
      shapes: { BASE: base, ...walk.shapes },
    });
  };

/** out = c ≠ 0 ? x : y, each operand broadcast (NumPy rules). */
export const whereWebGpu =
  (ctx: GpuContext): KernelFactory<'where'> =>
  ({ name, inputShapes: [cs, xs, ys], outputShape }) => {
    const walk = stridedWalk('i', outputShape, {
      ic: broadcastStrides(cs, outputShape),
      ix: broadcastStrides(xs, outputShape),
      iy: broadcastStrides(ys, outputShape),
    });
    const body = `fn body(i: u32) {
  ${walk.code}
  m[u.y + i] = select(m[u.b + iy], m[u.a + ix], m[u.c + ic] != 0.0);
}`;
    return programKernel(
      ctx,
      `${name} where`,
      ['c', 'a', 'b', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([c, x, y], out) => [f(c), f(x), f(y), f(out)],
      { shapes: walk.shapes },
    );
  };

/**
 * The gather indices, uploaded once at plan time into a region of the kernel's own (as floats: exact below
 * 2²⁴, more than any axis a storage binding holds); freed with the kernel. A region rather than a WGSL
 * constant array: an index list can be long, and the shader text (the pipeline cache's key) stays small.
 */
export function indexTable(ctx: GpuContext, attrs: GatherAttrs): { ptr: number; free(): void } {
  const values = new Float32Array(Math.max(1, attrs.indices.length));
  values.set(attrs.indices);
  const ptr = ctx.memory.alloc(4 * values.length);
  ctx.memory.upload(ptr, values);
  let freed = false;
  return {
    ptr,
    free() {
      if (freed) return;
      freed = true;
      ctx.memory.free(ptr);
    },
  };
}

/** Sizes around the gathered axis, uniforms: INNER after it, INDICES (COUNT as a divisor), AXIS the axis size. */
export const gatherShapes = (xs: readonly number[], attrs: GatherAttrs): Shapes => ({
  // Divisors at least 1: an empty output runs no invocation, but no division by zero is ever written.
  INNER: Math.max(1, sizeOf(xs.slice(attrs.axis + 1))),
  COUNT: Math.max(1, attrs.indices.length),
  INDICES: attrs.indices.length,
  AXIS: xs[attrs.axis],
});

export const gatherWebGpu =
  (ctx: GpuContext): KernelFactory<'gather'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const table = indexTable(ctx, attrs);
    const body = `fn body(i: u32) {
  let inner = i % u.INNER;
  let k = (i / u.INNER) % u.COUNT;
  let o = i / (u.INNER * u.COUNT);
  let at = u32(m[u.idx + k]);
  m[u.y + i] = m[u.x + (o * u.AXIS + at) * u.INNER + inner];
}`;
    const kernel = programKernel(
      ctx,
      `${name} gather`,
      ['x', 'idx', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([x], y) => [f(x), f(table.ptr), f(y)],
      { shapes: gatherShapes(xs, attrs) },
    );
    return {
      ...kernel,
      dispose() {
        kernel.dispose?.();
        table.free();
      },
    };
  };
