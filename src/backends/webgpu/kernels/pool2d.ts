// Pooling on WebGPU: max, average (PyTorch's divisor rule, ceil mode) and adaptive average, forward and
// backward. The backward kernels gather — each input cell sums the windows that cover it — so no thread
// ever adds into a value another thread writes.
import type { Pool2dAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { consts, isnanWgsl, programKernel } from './common.js';

function poolConsts(a: Pool2dAttrs, xs: readonly number[], ys: readonly number[]): string {
  const [n, c, h, w] = xs;
  const [, , oh, ow] = ys;
  return `${consts({ P: n * c, H: h, W: w, OH: oh, OW: ow, KH: a.kernel[0], KW: a.kernel[1], SH: a.stride[0], SW: a.stride[1], DH: a.dilation[0], DW: a.dilation[1] })}
const PH: i32 = ${a.padding[0]}; const PW: i32 = ${a.padding[1]};
const COUNT_PAD: bool = ${a.countIncludePad};`;
}

/** Index of the max of window (p, oy, ox) in x (first max; NaN wins), or -1 for a window wholly in padding. */
const argmaxWgsl = `
${isnanWgsl}
fn argmax(xb: u32, oy: u32, ox: u32) -> i32 {
  var best: f32 = 0.0;
  var at: i32 = -1;
  for (var ky: u32 = 0u; ky < KH; ky++) {
    let iy = i32(oy * SH) - PH + i32(ky * DH);
    if (iy < 0 || iy >= i32(H)) { continue; }
    for (var kx: u32 = 0u; kx < KW; kx++) {
      let ix = i32(ox * SW) - PW + i32(kx * DW);
      if (ix < 0 || ix >= i32(W)) { continue; }
      let v = m[xb + u32(iy) * W + u32(ix)];
      if (at < 0 || v > best || isnan(v)) { best = v; at = iy * i32(W) + ix; }
    }
  }
  return at;
}`;

export const maxPool2dWebGpu =
  (ctx: GpuContext): KernelFactory<'maxPool2d'> =>
  ({ name, attrs, inputShapes: [xs], outputShape: ys }) => {
    const body = `${poolConsts(attrs, xs, ys)}
${argmaxWgsl}
fn body(i: u32) {
  let ox = i % OW;
  let oy = (i / OW) % OH;
  let p = i / (OW * OH);
  let xb = u.x + p * H * W;
  let at = argmax(xb, oy, ox);
  var ninf = 0xff800000u; // a var, not a constant: WGSL rejects an infinite constant
  var v = bitcast<f32>(ninf);
  if (at >= 0) { v = m[xb + u32(at)]; }
  m[u.y + i] = v;
}`;
    return programKernel(ctx, `${name} maxPool2d`, ['x', 'y'], [{ body, threads: ys[0] * ys[1] * ys[2] * ys[3] }], ([x], y) => [
      f(x),
      f(y),
    ]);
  };

/** avgPoolWindow (src/backends/reference/kernels/pool2d.ts) in WGSL: the window's cells in the input and the divisor. */
const avgWindowWgsl = `
struct Win { y0: i32, y1: i32, x0: i32, x1: i32, div: f32 }
fn window(oy: u32, ox: u32) -> Win {
  let top = i32(oy * SH) - PH;
  let left = i32(ox * SW) - PW;
  let bottom = min(top + i32(KH), i32(H) + PH);
  let right = min(left + i32(KW), i32(W) + PW);
  var w: Win;
  w.y0 = max(top, 0);
  w.x0 = max(left, 0);
  w.y1 = min(bottom, i32(H));
  w.x1 = min(right, i32(W));
  if (COUNT_PAD) { w.div = f32((bottom - top) * (right - left)); } else { w.div = f32((w.y1 - w.y0) * (w.x1 - w.x0)); }
  return w;
}`;

export const avgPool2dWebGpu =
  (ctx: GpuContext): KernelFactory<'avgPool2d'> =>
  ({ name, attrs, inputShapes: [xs], outputShape: ys }) => {
    const body = `${poolConsts(attrs, xs, ys)}
${avgWindowWgsl}
fn body(i: u32) {
  let ox = i % OW;
  let oy = (i / OW) % OH;
  let p = i / (OW * OH);
  let xb = u.x + p * H * W;
  let w = window(oy, ox);
  var sum: f32 = 0.0;
  for (var iy = w.y0; iy < w.y1; iy++) {
    for (var ix = w.x0; ix < w.x1; ix++) { sum += m[xb + u32(iy) * W + u32(ix)]; }
  }
  m[u.y + i] = sum / w.div;
}`;
    return programKernel(ctx, `${name} avgPool2d`, ['x', 'y'], [{ body, threads: ys[0] * ys[1] * ys[2] * ys[3] }], ([x], y) => [
      f(x),
      f(y),
    ]);
  };

const adaptiveConsts = (xs: readonly number[], ys: readonly number[]) =>
  consts({ P: xs[0] * xs[1], H: xs[2], W: xs[3], OH: ys[2], OW: ys[3] });

/** PyTorch's adaptive bins: [floor(o·H/OH), ceil((o+1)·H/OH)). */
const binsWgsl = `
fn lo(o: u32, n: u32, on: u32) -> u32 { return (o * n) / on; }
fn hi(o: u32, n: u32, on: u32) -> u32 { return ((o + 1u) * n + on - 1u) / on; }`;

export const adaptiveAvgPool2dWebGpu =
  (ctx: GpuContext): KernelFactory<'adaptiveAvgPool2d'> =>
  ({ name, inputShapes: [xs], outputShape: ys }) => {
    const body = `${adaptiveConsts(xs, ys)}
${binsWgsl}
fn body(i: u32) {
  let ox = i % OW;
  let oy = (i / OW) % OH;
  let p = i / (OW * OH);
  let xb = u.x + p * H * W;
  let y0 = lo(oy, H, OH); let y1 = hi(oy, H, OH);
  let x0 = lo(ox, W, OW); let x1 = hi(ox, W, OW);
  var sum: f32 = 0.0;
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) { sum += m[xb + iy * W + ix]; }
  }
  m[u.y + i] = sum / f32((y1 - y0) * (x1 - x0));
}`;
    return programKernel(
      ctx,
      `${name} adaptiveAvgPool2d`,
      ['x', 'y'],
      [{ body, threads: ys[0] * ys[1] * ys[2] * ys[3] }],
      ([x], y) => [f(x), f(y)],
    );
  };

/** Each input cell takes dY of every window whose argmax it is (recomputed from X with the forward's rule). */
export const maxPool2dGradWebGpu =
  (ctx: GpuContext): KernelFactory<'maxPool2dGrad'> =>
  ({ name, attrs, inputShapes: [dys, xs] }) => {
    const body = `${poolConsts(attrs, xs, dys)}
${argmaxWgsl}
fn body(i: u32) {
  let ix = i % W;
  let iy = (i / W) % H;
  let p = i / (W * H);
  let xb = u.x + p * H * W;
  let me = i32(iy * W + ix);
  var acc: f32 = 0.0;
  for (var ky: u32 = 0u; ky < KH; ky++) {
    let ty = i32(iy) + PH - i32(ky * DH);
    if (ty < 0 || ty % i32(SH) != 0) { continue; }
    let oy = u32(ty) / SH;
    if (oy >= OH) { continue; }
    for (var kx: u32 = 0u; kx < KW; kx++) {
      let tx = i32(ix) + PW - i32(kx * DW);
      if (tx < 0 || tx % i32(SW) != 0) { continue; }
      let ox = u32(tx) / SW;
      if (ox >= OW) { continue; }
      if (argmax(xb, oy, ox) == me) { acc += m[u.dy + (p * OH + oy) * OW + ox]; }
    }
  }
  m[u.dx + i] = acc;
}`;
    return programKernel(
      ctx,
      `${name} maxPool2dGrad`,
      ['dy', 'x', 'dx'],
      [{ body, threads: xs[0] * xs[1] * xs[2] * xs[3] }],
      ([dy, x], dx) => [f(dy), f(x), f(dx)],
    );
  };

/** Each input cell sums dY / divisor of the windows that contain it (the forward's window rule). */
export const avgPool2dGradWebGpu =
  (ctx: GpuContext): KernelFactory<'avgPool2dGrad'> =>
  ({ name, attrs, inputShapes: [dys], outputShape: xs }) => {
    const body = `${poolConsts(attrs, xs, dys)}
${avgWindowWgsl}
fn body(i: u32) {
  let ix = i32(i % W);
  let iy = i32((i / W) % H);
  let p = i / (W * H);
  var acc: f32 = 0.0;
  for (var oy: u32 = 0u; oy < OH; oy++) {
    let top = i32(oy * SH) - PH;
    if (iy < top || iy >= top + i32(KH)) { continue; }
    for (var ox: u32 = 0u; ox < OW; ox++) {
      let left = i32(ox * SW) - PW;
      if (ix < left || ix >= left + i32(KW)) { continue; }
      let w = window(oy, ox);
      acc += m[u.dy + (p * OH + oy) * OW + ox] / w.div;
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
    );
  };

export const adaptiveAvgPool2dGradWebGpu =
  (ctx: GpuContext): KernelFactory<'adaptiveAvgPool2dGrad'> =>
  ({ name, inputShapes: [dys], outputShape: xs }) => {
    const body = `${adaptiveConsts(xs, dys)}
${binsWgsl}
fn body(i: u32) {
  let ix = i % W;
  let iy = (i / W) % H;
  let p = i / (W * H);
  var acc: f32 = 0.0;
  for (var oy: u32 = 0u; oy < OH; oy++) {
    let y0 = lo(oy, H, OH); let y1 = hi(oy, H, OH);
    if (iy < y0 || iy >= y1) { continue; }
    for (var ox: u32 = 0u; ox < OW; ox++) {
      let x0 = lo(ox, W, OW); let x1 = hi(ox, W, OW);
      if (ix < x0 || ix >= x1) { continue; }
      acc += m[u.dy + (p * OH + oy) * OW + ox] / f32((y1 - y0) * (x1 - x0));
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
    );
  };
