// Convolution on WebGPU. Most convolutions run as tiled implicit GEMMs (conv2d-tiled.ts); the kernels
// here are the direct ones — one invocation per output value, the backward ones as gathers, no atomics —
// which depthwise-like convolutions keep (`tiledPays` in gemm.ts: fewer than 4 rows per group), and which
// stay the simplest statement of each formula.
import type { Conv2dAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { activationWgsl, consts, programKernel } from './common.js';
import { conv2dGradInputTiled, conv2dGradWeightTiled, conv2dTiled } from './conv2d-tiled.js';
import { TILE_NARROW, tiledPays } from './gemm.js';

function shapeConsts(a: Conv2dAttrs, xs: readonly number[], ys: readonly number[]): string {
  const [n, cin, h, w] = xs;
  const [, cout, oh, ow] = ys;
  return consts({
    N: n,
    CIN: cin,
    H: h,
    W: w,
    COUT: cout,
    OH: oh,
    OW: ow,
    KH: a.kernel[0],
    KW: a.kernel[1],
    SH: a.stride[0],
    SW: a.stride[1],
    DH: a.dilation[0],
    DW: a.dilation[1],
    CING: cin / a.groups,
    COUTG: cout / a.groups,
  }).concat(`\nconst PT: i32 = ${a.padding[0]}; const PL: i32 = ${a.padding[1]};`);
}

/** One thread per output value: the dot product of its receptive field with one filter, then bias + activation. */
export const conv2dWebGpu =
  (ctx: GpuContext): KernelFactory<'conv2d'> =>
  ({ name, attrs: a, params, inputShapes: [xs], outputShape: ys }) => {
    const bias = a.bias && params.bias !== undefined ? params.bias.ptr : null;
    if (tiledPays(ys[1] / a.groups, (xs[1] / a.groups) * a.kernel[0] * a.kernel[1])) {
      return conv2dTiled(ctx, name, a, xs, ys, params.weight.ptr, bias);
    }
    const threads = ys[0] * ys[1] * ys[2] * ys[3];
    const body = `${shapeConsts(a, xs, ys)}
const HASBIAS: bool = ${a.bias && params.bias !== undefined};
${activationWgsl(a.activation.kind, a.activation.alpha)}
fn body(i: u32) {
  let ox = i % OW;
  var t = i / OW;
  let oy = t % OH;
  t = t / OH;
  let co = t % COUT;
  let b = t / COUT;
  let g = co / COUTG;
  var acc: f32 = 0.0;
  if (HASBIAS) { acc = m[u.bs + co]; }
  let iy0 = i32(oy * SH) - PT;
  let ix0 = i32(ox * SW) - PL;
  for (var ci: u32 = 0u; ci < CING; ci++) {
    let xb = u.x + ((b * CIN + g * CING + ci) * H) * W;
    let wb = u.w + ((co * CING + ci) * KH) * KW;
    for (var ky: u32 = 0u; ky < KH; ky++) {
      let iy = iy0 + i32(ky * DH);
      if (iy < 0 || iy >= i32(H)) { continue; }
      for (var kx: u32 = 0u; kx < KW; kx++) {
        let ix = ix0 + i32(kx * DW);
        if (ix < 0 || ix >= i32(W)) { continue; }
        acc += m[xb + u32(iy) * W + u32(ix)] * m[wb + ky * KW + kx];
      }
    }
  }
  m[u.y + i] = act(acc);
}`;
    return programKernel(ctx, `${name} conv2d`, ['x', 'y', 'w', 'bs'], [{ body, threads }], ([x], y) => [
      f(x),
      f(y),
      f(params.weight.ptr),
      params.bias ? f(params.bias.ptr) : 0,
    ]);
  };

/** dX[b, c, iy, ix] = Σ over the taps that read it of dY · W: gathered, so each thread writes one value. */
export const conv2dGradInputWebGpu =
  (ctx: GpuContext): KernelFactory<'conv2dGradInput'> =>
  (spec) => {
    const {
      name,
      attrs: a,
      params,
      inputShapes: [dys],
      outputShape: xs,
    } = spec;
    if (tiledPays(xs[1] / a.groups, (dys[1] / a.groups) * a.kernel[0] * a.kernel[1])) return conv2dGradInputTiled(ctx)(spec);
    const threads = xs[0] * xs[1] * xs[2] * xs[3];
    const body = `${shapeConsts(a, xs, dys)}
fn body(i: u32) {
  let ix = i % W;
  var t = i / W;
  let iy = t % H;
  t = t / H;
  let c = t % CIN;
  let b = t / CIN;
  let g = c / CING;
  let ci = c % CING;
  var acc: f32 = 0.0;
  for (var ky: u32 = 0u; ky < KH; ky++) {
    let ty = i32(iy) + PT - i32(ky * DH);
    if (ty < 0 || ty % i32(SH) != 0) { continue; }
    let oy = u32(ty) / SH;
    if (oy >= OH) { continue; }
    for (var kx: u32 = 0u; kx < KW; kx++) {
      let tx = i32(ix) + PL - i32(kx * DW);
      if (tx < 0 || tx % i32(SW) != 0) { continue; }
      let ox = u32(tx) / SW;
      if (ox >= OW) { continue; }
      for (var k: u32 = 0u; k < COUTG; k++) {
        let co = g * COUTG + k;
        acc += m[u.dy + ((b * COUT + co) * OH + oy) * OW + ox] * m[u.w + ((co * CING + ci) * KH + ky) * KW + kx];
      }
    }
  }
  m[u.dx + i] = acc;
}`;
    return programKernel(ctx, `${name} conv2dGradInput`, ['dy', 'dx', 'w'], [{ body, threads }], ([dy], dx) => [
      f(dy),
      f(dx),
      f(params.weight.ptr),
    ]);
  };

/**
 * dW[co, ci, ky, kx] = Σ_{b, oy, ox} dY · X at the tap's input position. Inputs: dY, X. Always the tiled
 * GEMM with K (batch × output pixels, long) split across workgroups; a depthwise-like convolution (one or
 * two rows per group) gets the narrow tile rather than a direct kernel whose threads would each walk all of K.
 */
export const conv2dGradWeightWebGpu =
  (ctx: GpuContext): KernelFactory<'conv2dGradWeight'> =>
  (spec) =>
    conv2dGradWeightTiled(ctx, spec.inputShapes[0][1] / spec.attrs.groups < 4 ? TILE_NARROW : undefined)(spec);
