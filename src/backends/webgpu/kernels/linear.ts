// Fully connected layers on WebGPU: y = x·Wᵀ + b with the activation fused, and the backward kernels
// (dX = dY·W, dW = dYᵀ·X, db = Σ dY over all but the channel dimension). One thread per output value.
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { activationWgsl, consts, programKernel } from './common.js';

export const linearWebGpu =
  (ctx: GpuContext): KernelFactory<'linear'> =>
  ({ name, attrs, params, inputShapes: [xs] }) => {
    const { inFeatures: k, outFeatures: n } = attrs;
    const rows = sizeOf(xs) / k;
    const body = `${consts({ K: k, M: n })}
const HASBIAS: bool = ${attrs.bias && params.bias !== undefined};
${activationWgsl(attrs.activation.kind, attrs.activation.alpha)}
fn body(i: u32) {
  let o = i % M;
  let r = i / M;
  var acc: f32 = 0.0;
  if (HASBIAS) { acc = m[u.bs + o]; }
  let xb = u.x + r * K;
  let wb = u.w + o * K;
  for (var j: u32 = 0u; j < K; j++) { acc += m[xb + j] * m[wb + j]; }
  m[u.y + i] = act(acc);
}`;
    return programKernel(ctx, `${name} linear`, ['x', 'y', 'w', 'bs'], [{ body, threads: rows * n }], ([x], y) => [
      f(x),
      f(y),
      f(params.weight.ptr),
      params.bias ? f(params.bias.ptr) : 0,
    ]);
  };

export const linearGradInputWebGpu =
  (ctx: GpuContext): KernelFactory<'linearGradInput'> =>
  ({ name, attrs, params, inputShapes: [dys] }) => {
    const { inFeatures: k, outFeatures: n } = attrs;
    const rows = sizeOf(dys) / n;
    const body = `${consts({ K: k, M: n })}
fn body(i: u32) {
  let j = i % K;
  let r = i / K;
  var acc: f32 = 0.0;
  for (var o: u32 = 0u; o < M; o++) { acc += m[u.dy + r * M + o] * m[u.w + o * K + j]; }
  m[u.dx + i] = acc;
}`;
    return programKernel(ctx, `${name} linearGradInput`, ['dy', 'dx', 'w'], [{ body, threads: rows * k }], ([dy], dx) => [
      f(dy),
      f(dx),
      f(params.weight.ptr),
    ]);
  };

export const linearGradWeightWebGpu =
  (ctx: GpuContext): KernelFactory<'linearGradWeight'> =>
  ({ name, attrs, inputShapes: [dys] }) => {
    const { inFeatures: k, outFeatures: n } = attrs;
    const rows = sizeOf(dys) / n;
    const body = `${consts({ K: k, M: n, R: rows })}
fn body(i: u32) {
  let j = i % K;
  let o = i / K;
  var acc: f32 = 0.0;
  for (var r: u32 = 0u; r < R; r++) { acc += m[u.dy + r * M + o] * m[u.x + r * K + j]; }
  m[u.dw + i] = acc;
}`;
    return programKernel(ctx, `${name} linearGradWeight`, ['dy', 'x', 'dw'], [{ body, threads: n * k }], ([dy, x], dw) => [
      f(dy),
      f(x),
      f(dw),
    ]);
  };

/** Σ dY over every dimension but the channel one: one thread per channel. */
export const biasGradWebGpu =
  (ctx: GpuContext): KernelFactory<'biasGrad'> =>
  ({ name, attrs, inputShapes: [dys] }) => {
    const dim = normalizeDim(attrs.channelDim, dys.length, 'biasGrad');
    const c = dys[dim];
    const body = `${consts({ C: c, OUTER: sizeOf(dys.slice(0, dim)), INNER: sizeOf(dys.slice(dim + 1)) })}
fn body(ch: u32) {
  var acc: f32 = 0.0;
  for (var o: u32 = 0u; o < OUTER; o++) {
    let base = u.dy + (o * C + ch) * INNER;
    for (var j: u32 = 0u; j < INNER; j++) { acc += m[base + j]; }
  }
  m[u.db + ch] = acc;
}`;
    return programKernel(ctx, `${name} biasGrad`, ['dy', 'db'], [{ body, threads: c }], ([dy], db) => [f(dy), f(db)]);
  };
