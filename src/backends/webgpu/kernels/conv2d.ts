// Convolution on WebGPU. Most convolutions run as tiled implicit GEMMs (conv2d-tiled.ts); the kernels
// here are the direct ones — one invocation per output value, the backward ones as gathers, no atomics —
// which depthwise-like convolutions keep (`tiledPays` in gemm.ts: fewer than 4 rows per group), and which
// stay the simplest statement of each formula.
import type { Conv2dAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { type Shapes, activationShapes, activationWgsl, coveringWindowsWgsl, programKernel, windowShapes } from './common.js';
import { conv2dGradInputTiled, conv2dGradWeightTiled, conv2dTiled } from './conv2d-tiled.js';
import { TILE_NARROW, type TiledOptions, tiledPays } from './gemm.js';

/** The direct kernels' shapes, uniforms (`u.OW` …): one pipeline per kernel kind, whatever the shape. */
function convShapes(a: Conv2dAttrs, xs: readonly number[], ys: readonly number[]): Shapes {
  const [n, cin, h, w] = xs;
  const [, cout, oh, ow] = ys;
  return {
    N: n,
    CIN: cin,
    H: h,
    W: w,
    COUT: cout,
    OH: oh,
    OW: ow,
    ...windowShapes(a),
    CING: cin / a.groups,
    COUTG: cout / a.groups,
  };
}

/** One thread per output value: the dot product of its receptive field with one filter, then bias + activation. */
export const conv2dWebGpu =
  (ctx: GpuContext, options: TiledOptions = {}): KernelFactory<'conv2d'> =>
  ({ name, attrs: a, params, inputShapes: [xs], outputShape: ys }) => {
    const bias = a.bias && params.bias !== undefined ? params.bias.ptr : null;
    if (tiledPays(ys[1] / a.groups, (xs[1] / a.groups) * a.kernel[0] * a.kernel[1])) {
      return conv2dTiled(ctx, name, a, xs, ys, params.weight.ptr, bias, options);
    }
    const threads = ys[0] * ys[1] * ys[2] * ys[3];
    const body = `${activationWgsl(a.activation.kind)}
fn body(i: u32) {
  let ox = i % u.OW;
  var t = i / u.OW;
  let oy = t % u.OH;
  t = t / u.OH;
  let co = t % u.COUT;
  let b = t / u.COUT;
  let g = co / u.COUTG;
  var acc: f32 = 0.0;
  if (u.HASBIAS != 0u) { acc = m[u.bs + co]; }
  let iy0 = i32(oy * u.SH) - i32(u.PT);
  let ix0 = i32(ox * u.SW) - i32(u.PL);
  for (var ci: u32 = 0u; ci < u.CING; ci++) {
    let xb = u.x + ((b * u.CIN + g * u.CING + ci) * u.H) * u.W;
    let wb = u.w + ((co * u.CING + ci) * u.KH) * u.KW;
    for (var ky: u32 = 0u; ky < u.KH; ky++) {
      let iy = iy0 + i32(ky * u.DH);
      if (iy < 0 || iy >= i32(u.H)) { continue; }
      for (var kx: u32 = 0u; kx < u.KW; kx++) {
        let ix = ix0 + i32(kx * u.DW);
        if (ix < 0 || ix >= i32(u.W)) { continue; }
        acc += m[xb + u32(iy) * u.W + u32(ix)] * m[wb + ky * u.KW + kx];
      }
    }
  }
  m[u.y + i] = act(acc);
}`;
    return programKernel(
      ctx,
      `${name} conv2d`,
      ['x', 'y', 'w', 'bs'],
      [{ body, threads }],
      ([x], y) => [f(x), f(y), f(params.weight.ptr), params.bias ? f(params.bias.ptr) : 0],
      { shapes: { ...convShapes(a, xs, ys), HASBIAS: bias !== null ? 1 : 0, ...activationShapes(a.activation.alpha) } },
    );
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
    const body = `fn body(i: u32) {
  let ix = i % u.W;
  var t = i / u.W;
  let iy = t % u.H;
  t = t / u.H;
  let c = t % u.CIN;
  let b = t / u.CIN;
  let g = c / u.CING;
  let ci = c % u.CING;
  var acc: f32 = 0.0;
  ${coveringWindowsWgsl(`for (var k: u32 = 0u; k < u.COUTG; k++) {
        let co = g * u.COUTG + k;
        acc += m[u.dy + ((b * u.COUT + co) * u.OH + oy) * u.OW + ox] * m[u.w + ((co * u.CING + ci) * u.KH + ky) * u.KW + kx];
      }`)}
  m[u.dx + i] = acc;
}`;
    return programKernel(
      ctx,
      `${name} conv2dGradInput`,
      ['dy', 'dx', 'w'],
      [{ body, threads }],
      ([dy], dx) => [f(dy), f(dx), f(params.weight.ptr)],
      { shapes: convShapes(a, xs, dys) },
    );
  };

/**
 * dW[co, ci, ky, kx] = Σ_{b, oy, ox} dY · X at the tap's input position. Inputs: dY, X. Always the tiled
 * GEMM with K (batch × output pixels, long) split across workgroups; a depthwise-like convolution (one or
 * two rows per group) gets the narrow tile rather than a direct kernel whose threads would each walk all of K.
 */
export const conv2dGradWeightWebGpu =
  (ctx: GpuContext, options: TiledOptions = {}): KernelFactory<'conv2dGradWeight'> =>
  (spec) =>
    conv2dGradWeightTiled(ctx, spec.inputShapes[0][1] / spec.attrs.groups < 4 ? TILE_NARROW : undefined, options)(spec);
