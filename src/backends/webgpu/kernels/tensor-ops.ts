// The ONNX breadth ops on WebGPU that move or reduce values: constant, reduce (sum, mean, max over any axes),
// expand, strided slices, where and gather. One invocation per output value, its coordinates split by
// unrolled divisions by the baked-in dimensions (offsetsCode), as the other ONNX kernels do.
import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { GatherAttrs, ReduceAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { consts, floatLiteral, isnanWgsl, programKernel } from './common.js';
import { offsetsCode } from './onnx-ops.js';

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
 * element from there (row-major over the reduced axes: the reference's summation order). COUNT: the
 * number of reduced elements per output.
 */
export function reductionIndexWgsl(xs: readonly number[], axes: readonly number[]): string {
  const inStrides = broadcastStrides(xs, xs);
  const kept = keptShape(xs, axes);
  const reducedDims = axes.map((a) => xs[a]);
  return `${consts({ COUNT: sizeOf(reducedDims) })}
fn groupBase(o: u32) -> u32 {
  ${offsetsCode('o', kept, { ix: inStrides.map((s, d) => (axes.includes(d) ? 0 : s)) })}
  return ix;
}
fn memberOffset(k: u32) -> u32 {
  ${offsetsCode('k', reducedDims, { ix: axes.map((a) => inStrides[a]) })}
  return ix;
}`;
}

/** sum and mean accumulate in f32 (the reference in f64); max: NaN wins, as the reference's. */
function reduceBody(a: ReduceAttrs, xs: readonly number[]): string {
  const count = sizeOf(a.axes.map((ax) => xs[ax]));
  const step = a.kind === 'max' ? 'if (v > acc || isnan(v)) { acc = v; }' : 'acc += v;';
  const init = a.kind === 'max' ? 'var ninf = 0xff800000u;\n  var acc = bitcast<f32>(ninf);' : 'var acc: f32 = 0.0;';
  const result = a.kind === 'mean' ? `acc / ${floatLiteral(count)}` : 'acc';
  return `${isnanWgsl}
${reductionIndexWgsl(xs, a.axes)}
fn body(o: u32) {
  let base = u.x + groupBase(o);
  ${init}
  for (var k: u32 = 0u; k < COUNT; k++) {
    let v = m[base + memberOffset(k)];
    ${step}
  }
  m[u.y + o] = ${result};
}`;
}

export const reduceWebGpu =
  (ctx: GpuContext): KernelFactory<'reduce'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) =>
    programKernel(
      ctx,
      `${name} reduce ${attrs.kind}`,
      ['x', 'y'],
      [{ body: reduceBody(attrs, xs), threads: sizeOf(outputShape) }],
      ([x], y) => [f(x), f(y)],
    );

/** y = x broadcast to the output shape, times `scale` (one f32 product, as the reference's). */
export const expandWebGpu =
  (ctx: GpuContext): KernelFactory<'expand'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const body = `fn body(i: u32) {
  ${offsetsCode('i', outputShape, { ix: broadcastStrides(xs, outputShape) })}
  m[u.y + i] = m[u.x + ix] * ${floatLiteral(attrs.scale)};
}`;
    return programKernel(ctx, `${name} expand`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [f(x), f(y)]);
  };

/** y[c…] = x[starts + c·steps…]; steps may be negative, so the read position is summed in i32. */
export const sliceWebGpu =
  (ctx: GpuContext): KernelFactory<'slice'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const inStrides = broadcastStrides(xs, xs);
    const base = attrs.starts.reduce((s, st, d) => s + st * inStrides[d], 0);
    const lines = ['var r = i;', `var p: i32 = ${base};`];
    for (let d = outputShape.length - 1; d >= 0; d--) {
      if (outputShape[d] === 1) continue;
      lines.push(
        `{ let c = i32(r % ${outputShape[d]}u); r = r / ${outputShape[d]}u; p += c * ${attrs.steps[d] * inStrides[d]}; }`,
      );
    }
    const body = `fn body(i: u32) {
  ${lines.join('\n  ')}
  m[u.y + i] = m[u.x + u32(p)];
}`;
    return programKernel(ctx, `${name} slice`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [f(x), f(y)]);
  };

/** out = c ≠ 0 ? x : y, each operand broadcast (NumPy rules). */
export const whereWebGpu =
  (ctx: GpuContext): KernelFactory<'where'> =>
  ({ name, inputShapes: [cs, xs, ys], outputShape }) => {
    const body = `fn body(i: u32) {
  ${offsetsCode('i', outputShape, {
    ic: broadcastStrides(cs, outputShape),
    ix: broadcastStrides(xs, outputShape),
    iy: broadcastStrides(ys, outputShape),
  })}
  m[u.y + i] = select(m[u.b + iy], m[u.a + ix], m[u.c + ic] != 0.0);
}`;
    return programKernel(
      ctx,
      `${name} where`,
      ['c', 'a', 'b', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([c, x, y], out) => [f(c), f(x), f(y), f(out)],
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

/** Sizes around the gathered axis: OUTER before it, INNER after it, INDICES (COUNT as a divisor), AXIS the axis size. */
export const gatherConsts = (xs: readonly number[], attrs: GatherAttrs): string =>
  consts({
    OUTER: sizeOf(xs.slice(0, attrs.axis)),
    // Divisors at least 1: an empty output runs no invocation, but the shader must still compile.
    INNER: Math.max(1, sizeOf(xs.slice(attrs.axis + 1))),
    COUNT: Math.max(1, attrs.indices.length),
    INDICES: attrs.indices.length,
    AXIS: xs[attrs.axis],
  });

export const gatherWebGpu =
  (ctx: GpuContext): KernelFactory<'gather'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const table = indexTable(ctx, attrs);
    const body = `${gatherConsts(xs, attrs)}
fn body(i: u32) {
  let inner = i % INNER;
  let k = (i / INNER) % COUNT;
  let o = i / (INNER * COUNT);
  let at = u32(m[u.idx + k]);
  m[u.y + i] = m[u.x + (o * AXIS + at) * INNER + inner];
}`;
    const kernel = programKernel(ctx, `${name} gather`, ['x', 'idx', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [
      f(x),
      f(table.ptr),
      f(y),
    ]);
    return {
      ...kernel,
      dispose() {
        kernel.dispose?.();
        table.free();
      },
    };
  };
