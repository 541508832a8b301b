// Pooling on WebGPU: max, average (PyTorch's divisor rule, ceil mode) and adaptive average, forward and
// backward. The backward kernels gather — each input cell sums the windows that cover it — so no thread
// ever adds into a value another thread writes.
import type { Pool2dAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { type Shapes, coveringWindowsWgsl, isnanWgsl, programKernel, windowShapes } from './common.js';

/** The window's shapes, uniforms (`u.KH` …): one pipeline per pooling kind, whatever the shape. */
function poolShapes(a: Pool2dAttrs, xs: readonly number[], ys: readonly number[]): Shapes {
  const [n, c, h, w] = xs;
  const [, , oh, ow] = ys;
  return {
    P: n * c,
    H: h,
    W: w,
    OH: oh,
    OW: ow,
    // Pooling's padding is symmetric: PT and PL are the bottom and right pads too.
    ...windowShapes(a),
  };
}

/** Whether the average's divisor counts padding: a flag that decides code, so compiled in. */
const countPad = (a: Pool2dAttrs) => `const COUNT_PAD: bool = ${a.countIncludePad};`;

/** Index of the max of window (p, oy, ox) in x (first max; NaN wins), or -1 for a window wholly in padding. */
const argmaxWgsl = `
${isnanWgsl}
fn argmax(xb: u32, oy: u32, ox: u32) -> i32 {
  var best: f32 = 0.0;
  var at: i32 = -1;
  for (var ky: u32 = 0u; ky < u.KH; ky++) {
    let iy = i32(oy * u.SH) - i32(u.PT) + i32(ky * u.DH);
    if (iy < 0 || iy >= i32(u.H)) { continue; }
    for (var kx: u32 = 0u; kx < u.KW; kx++) {
      let ix = i32(ox * u.SW) - i32(u.PL) + i32(kx * u.DW);
      if (ix < 0 || ix >= i32(u.W)) { continue; }
      let v = m[xb + u32(iy) * u.W + u32(ix)];
      if (at < 0 || v > best || isnan(v)) { best = v; at = iy * i32(u.W) + ix; }
    }
  }
  return at;
}`;

export const maxPool2dWebGpu =
  (ctx: GpuContext): KernelFactory<'maxPool2d'> =>
  ({ name, attrs, inputShapes: [xs], outputShape: ys }) => {
    const body = `${argmaxWgsl}
fn body(i: u32) {
  let ox = i % u.OW;
  let oy = (i / u.OW) % u.OH;
  let p = i / (u.OW * u.OH);
  let xb = u.x + p * u.H * u.W;
  let at = argmax(xb, oy, ox);
  var ninf = 0xff800000u; // a var, not a constant: WGSL rejects an infinite constant
  var v = bitcast<f32>(ninf);
  if (at >= 0) { v = m[xb + u32(at)]; }
  m[u.y + i] = v;
}`;
    return programKernel(
      ctx,
      `${name} maxPool2d`,
      ['x', 'y'],
      [{ body, threads: ys[0] * ys[1] * ys[2] * ys[3] }],
      ([x], y) => [f(x), f(y)],
      { shapes: poolShapes(attrs, xs, ys) },
    );
  };

/** avgPoolWindow (src/backends/reference/kernels/pool2d.ts) in WGSL: the window's cells in the input and the divisor. */
const avgWindowWgsl = `
struct Win { y0: i32, y1: i32, x0: i32, x1: i32, div: f32 }
fn window(oy: u32, ox: u32) -> Win {
  let top = i32(oy * u.SH) - i32(u.PT);
  let left = i32(ox * u.SW) - i32(u.PL);
  let bottom = min(top + i32(u.KH), i32(u.H) + i32(u.PT));
  let right = min(left + i32(u.KW), i32(u.W) + i32(u.PL));
  var w: Win;
  w.y0 = max(top, 0);
  w.x0 = max(left, 0);
  w.y1 = min(bottom, i32(u.H));
  w.x1 = min(right, i32(u.W));
  if (COUNT_PAD) { w.div = f32((bottom - top) * (right - left)); } else { w.div = f32((w.y1 - w.y0) * (w.x1 - w.x0)); }
  return w;
}`;

export const avgPool2dWebGpu =
  (ctx: GpuContext): KernelFactory<'avgPool2d'> =>
  ({ name, attrs, inputShapes: [xs], outputShape: ys }) => {
    const body = `${countPad(attrs)}
${avgWindowWgsl}
fn body(i: u32) {
  let ox = i % u.OW;
  let oy = (i / u.OW) % u.OH;
  let p = i / (u.OW * u.OH);
  let xb = u.x + p * u.H * u.W;
  let w = window(oy, ox);
  var sum: f32 = 0.0;
  for (var iy = w.y0; iy < w.y1; iy++) {
    for (var ix = w.x0; ix < w.x1; ix++) { sum += m[xb + u32(iy) * u.W + u32(ix)]; }
  }
  m[u.y + i] = sum / w.div;
}`;
    return programKernel(
      ctx,
      `${name} avgPool2d`,
      ['x', 'y'],
      [{ body, threads: ys[0] * ys[1] * ys[2] * ys[3] }],
      ([x], y) => [f(x), f(y)],
      { shapes: poolShapes(attrs, xs, ys) },
    );
  };

const adaptiveShapes = (xs: readonly number[], ys: readonly number[]): Shapes => ({
  P: xs[0] * xs[1],
  H: xs[2],
  W: xs[3],
  OH: ys[2],
  OW: ys[3],
});

/** PyTorch's adaptive bins: [floor(o·H/OH), ceil((o+1)·H/OH)). */
const binsWgsl = `
fn lo(o: u32, n: u32, on: u32) -> u32 { return (o * n) / on; }
fn hi(o: u32, n: u32, on: u32) -> u32 { return ((o + 1u) * n + on - 1u) / on; }`;

export const adaptiveAvgPool2dWebGpu =
  (ctx: GpuContext): KernelFactory<'adaptiveAvgPool2d'> =>
  ({ name, inputShapes: [xs], outputShape: ys }) => {
    const body = `${binsWgsl}
fn body(i: u32) {
  let ox = i % u.OW;
  let oy = (i / u.OW) % u.OH;
  let p = i / (u.OW * u.OH);
  let xb = u.x + p * u.H * u.W;
  let y0 = lo(oy, u.H, u.OH); let y1 = hi(oy, u.H, u.OH);
  let x0 = lo(ox, u.W, u.OW); let x1 = hi(ox, u.W, u.OW);
  var sum: f32 = 0.0;
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) { sum += m[xb + iy * u.W + ix]; }
  }
  m[u.y + i] = sum / f32((y1 - y0) * (x1 - x0));
}`;
    return programKernel(
      ctx,
      `${name} adaptiveAvgPool2d`,
      ['x', 'y'],
      [{ body, threads: ys[0] * ys[1] * ys[2] * ys[3] }],
      ([x], y) => [f(x), f(y)],
      { shapes: adaptiveShapes(xs, ys) },
    );
  };

/** Each input cell takes dY of every window whose argmax it is (recomputed from X with the forward's rule). */
export const maxPool2dGradWebGpu =
  (ctx: GpuContext): KernelFactory<'maxPool2dGrad'> =>
  ({ name, attrs, inputShapes: [dys, xs] }) => {
    const body = `${argmaxWgsl}
fn body(i: u32) {
  let ix = i % u.W;
  let iy = (i / u.W) % u.H;
  let p = i / (u.W * u.H);
  let xb = u.x + p * u.H * u.W;
  let me = i32(iy * u.W + ix);
  var acc: f32 = 0.0;
  ${coveringWindowsWgsl('if (argmax(xb, oy, ox) == me) { acc += m[u.dy + (p * u.OH + oy) * u.OW + ox]; }')}
  m[u.dx + i] = acc;
}`;
    return programKernel(
      ctx,
      `${name} maxPool2dGrad`,
      ['dy', 'x', 'dx'],
      [{ body, threads: xs[0] * xs[1] * xs[2] * xs[3] }],
      ([dy, x], dx) => [f(dy), f(x), f(dx)],
      { shapes: poolShapes(attrs, xs, dys) },
    );
  };

/** Each input cell sums dY / divisor of the windows that contain it (the forward's window rule). */
export const avgPool2dGradWebGpu =
  (ctx: GpuContext): KernelFactory<'avgPool2dGrad'> =>
  ({ name, attrs, inputShapes: [dys], outputShape: xs }) => {
    const body = `${countPad(attrs)}
${avgWindowWgsl}
fn body(i: u32) {
  let ix = i32(i % u.W);
  let iy = i32((i / u.W) % u.H);
  let p = i / (u.W * u.H);
  var acc: f32 = 0.0;
  for (var oy: u32 = 0u; oy < u.OH; oy++) {
    let top = i32(oy * u.SH) - i32(u.PT);
    if (iy < top || iy >= top + i32(u.KH)) { continue; }
    for (var ox: u32 = 0u; ox < u.OW; ox++) {
      let left = i32(ox * u.SW) - i32(u.PL);
      if (ix < left || ix >= left + i32(u.KW)) { continue; }
      let w = window(oy, ox);
      acc += m[u.dy + (p * u.OH + oy) * u.OW + ox] / w.div;
    }
  }
  m[u.dx + i] = acc;
}`;
    return programKernel(
      ctx,
      `${name} avgPool2dGrad`,
      ['dy', 'dx'],
      [{ body, threads: xs[0] * xs[1] * xs[2] * xs[3] }],
      ([dy], dx) => [f(dy), f(dx)],
      { shapes: poolShapes(attrs, xs, dys) },
    );
  };

export const adaptiveAvgPool2dGradWebGpu =
  (ctx: GpuContext): KernelFactory<'adaptiveAvgPool2dGrad'> =>
  ({ name, inputShapes: [dys], outputShape: xs }) => {
    const body = `${binsWgsl}
fn body(i: u32) {
  let ix = i % u.W;
  let iy = (i / u.W) % u.H;
  let p = i / (u.W * u.H);
  var acc: f32 = 0.0;
  for (var oy: u32 = 0u; oy < u.OH; oy++) {
    let y0 = lo(oy, u.H, u.OH); let y1 = hi(oy, u.H, u.OH);
    if (iy < y0 || iy >= y1) { continue; }
    for (var ox: u32 = 0u; ox < u.OW; ox++) {
      let x0 = lo(ox, u.W, u.OW); let x1 = hi(ox, u.W, u.OW);
      if (ix < x0 || ix >= x1) { continue; }
      acc += m[u.dy + (p * u.OH + oy) * u.OW + ox] / f32((y1 - y0) * (x1 - x0));
    }
  }
  m[u.dx + i] = acc;
}`;
    return programKernel(
      ctx,
      `${name} adaptiveAvgPool2dGrad`,
      ['dy', 'dx'],
      [{ body, threads: xs[0] * xs[1] * xs[2] * xs[3] }],
      ([dy], dx) => [f(dy), f(dx)],
      { shapes: adaptiveShapes(xs, dys) },
    );
  };
