// Element-wise kernels on WebGPU: activations and their derivative, add, mul, softmax and its backward.
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { type Shapes, activationDerivativeWgsl, activationShapes, activationWgsl, programKernel } from './common.js';

export const activationWebGpu =
  (ctx: GpuContext): KernelFactory<'activation'> =>
  ({ name, attrs, outputShape }) => {
    const body = `${activationWgsl(attrs.kind)}
fn body(i: u32) { m[u.y + i] = act(m[u.x + i]); }`;
    return programKernel(
      ctx,
      `${name} activation`,
      ['x', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([x], y) => [f(x), f(y)],
      { shapes: activationShapes(attrs.alpha) },
    );
  };

/** Inputs: dY and the saved value the derivative reads (see activationDerivative). */
export const activationGradWebGpu =
  (ctx: GpuContext): KernelFactory<'activationGrad'> =>
  ({ name, attrs, outputShape }) => {
    const body = `${activationDerivativeWgsl(attrs.kind)}
fn body(i: u32) { m[u.dx + i] = m[u.dy + i] * dact(m[u.v + i]); }`;
    return programKernel(
      ctx,
      `${name} activationGrad`,
      ['dy', 'v', 'dx'],
      [{ body, threads: sizeOf(outputShape) }],
      ([dy, v], dx) => [f(dy), f(v), f(dx)],
      { shapes: activationShapes(attrs.alpha) },
    );
  };

function binary(ctx: GpuContext, label: string, op: '+' | '*', n: number) {
  const body = `fn body(i: u32) { m[u.y + i] = m[u.a + i] ${op} m[u.b + i]; }`;
  return programKernel(ctx, label, ['a', 'b', 'y'], [{ body, threads: n }], ([a, b], y) => [f(a), f(b), f(y)]);
}

export const addWebGpu =
  (ctx: GpuContext): KernelFactory<'add'> =>
  ({ name, outputShape }) =>
    binary(ctx, `${name} add`, '+', sizeOf(outputShape));

export const mulWebGpu =
  (ctx: GpuContext): KernelFactory<'mul'> =>
  ({ name, outputShape }) =>
    binary(ctx, `${name} mul`, '*', sizeOf(outputShape));

/** Rows of the softmax (one thread each) and its shapes, uniforms (`u.SIZE`, `u.INNER`). */
function softmaxShapes(dimAttr: number, shape: readonly number[]): { threads: number; shapes: Shapes } {
  const dim = normalizeDim(dimAttr, shape.length, 'softmax');
  const inner = sizeOf(shape.slice(dim + 1));
  const outer = sizeOf(shape.slice(0, dim));
  return { threads: outer * inner, shapes: { SIZE: shape[dim], INNER: inner } };
}

/** One thread per softmax row (stride INNER): max, then exp and sum, then divide — the reference's order. */
export const softmaxWebGpu =
  (ctx: GpuContext): KernelFactory<'softmax'> =>
  ({ name, attrs, outputShape }) => {
    const { threads, shapes } = softmaxShapes(attrs.dim, outputShape);
    const body = `fn body(r: u32) {
  let base = (r / u.INNER) * u.SIZE * u.INNER + r % u.INNER;
  var ninf = 0xff800000u; // a var, not a constant: WGSL rejects an infinite constant
  var mx = bitcast<f32>(ninf);
  for (var k: u32 = 0u; k < u.SIZE; k++) { mx = max(mx, m[u.x + base + k * u.INNER]); }
  var sum: f32 = 0.0;
  for (var k: u32 = 0u; k < u.SIZE; k++) {
    let e = exp(m[u.x + base + k * u.INNER] - mx);
    m[u.y + base + k * u.INNER] = e;
    sum += e;
  }
  for (var k: u32 = 0u; k < u.SIZE; k++) { m[u.y + base + k * u.INNER] = m[u.y + base + k * u.INNER] / sum; }
}`;
    return programKernel(ctx, `${name} softmax`, ['x', 'y'], [{ body, threads }], ([x], y) => [f(x), f(y)], { shapes });
  };

/** dX = y·(dY − Σ dY·y) along dim. Inputs: dY, Y. */
export const softmaxGradWebGpu =
  (ctx: GpuContext): KernelFactory<'softmaxGrad'> =>
  ({ name, attrs, outputShape }) => {
    const { threads, shapes } = softmaxShapes(attrs.dim, outputShape);
    const body = `fn body(r: u32) {
  let base = (r / u.INNER) * u.SIZE * u.INNER + r % u.INNER;
  var dot: f32 = 0.0;
  for (var k: u32 = 0u; k < u.SIZE; k++) { dot += m[u.dy + base + k * u.INNER] * m[u.y + base + k * u.INNER]; }
  for (var k: u32 = 0u; k < u.SIZE; k++) {
    let j = base + k * u.INNER;
    m[u.dx + j] = m[u.y + j] * (m[u.dy + j] - dot);
  }
}`;
    return programKernel(
      ctx,
      `${name} softmaxGrad`,
      ['dy', 'y', 'dx'],
      [{ body, threads }],
      ([dy, y], dx) => [f(dy), f(y), f(dx)],
      { shapes },
    );
  };
