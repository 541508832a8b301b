// Convolution as tiled implicit GEMMs (gemm.ts), one per group (z), im2col folded into the tile loads:
//
//   forward      Y[co, (b,oy,ox)]   = W[co, (ci,ky,kx)] · X̂[(ci,ky,kx), (b,oy,ox)]     + bias, activation
//   grad input   dX[ci, (b,iy,ix)]  = Wᵀ[ci, (co,ky,kx)] · dŶ[(co,ky,kx), (b,iy,ix)]     (transposed conv)
//   grad weight  dW[co, (ci,ky,kx)] = dY[co, (b,oy,ox)] · X̂ᵀ[(b,oy,ox), (ci,ky,kx)]      (K split across workgroups)
//
// X̂ reads the input cell a tap sees (zero in the padding); dŶ reads the output gradient cell that a tap
// of input (iy, ix) reaches, zero where the stride skips it. A 1×1 stride-1 unpadded convolution is a
// plain GEMM over (ci) × (b, pixel): its loads skip the tap arithmetic. Which convolutions take this path
// is `tiledPays` (gemm.ts): depthwise-like ones (fewer than 4 rows per group) stay on the direct kernels,
// except for the weight gradient, whose long K needs the split (it takes the narrow tile instead).
import type { Conv2dAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { type Shapes, activationShapes, activationWgsl, windowShapes } from './common.js';
import { type GemmTile, type TiledOptions, gemmKernel } from './gemm.js';

/**
 * The convolution's shapes, uniforms named so they do not collide with the GEMM's own M, N, K, Z. Paddings
 * are non-negative; the WGSL reads them as i32(u.PT). HW and OHW save a multiply in every index.
 */
function convShapes(a: Conv2dAttrs, xs: readonly number[], ys: readonly number[]): Shapes {
  const [nb, cin, h, w] = xs;
  const [, cout, oh, ow] = ys;
  const [kh, kw] = a.kernel;
  return {
    NB: nb,
    CIN: cin,
    H: h,
    W: w,
    HW: h * w,
    COUT: cout,
    OH: oh,
    OW: ow,
    OHW: oh * ow,
    ...windowShapes(a),
    KHW: kh * kw,
    CING: cin / a.groups,
    COUTG: cout / a.groups,
  };
}

/** 1×1, stride 1, no padding: the input is already the B matrix (per batch image, channels × pixels). */
export function isPointwise(a: Conv2dAttrs): boolean {
  return a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 && a.stride[1] === 1 && a.padding.every((p) => p === 0);
}

/** WGSL: the input cell tap (ci, ky, kx) of output position (b, oy, ox) reads, or 0 in the padding. */
const inputTap = `fn inputTap(z: u32, ci: u32, t: u32, b: u32, oy: u32, ox: u32) -> f32 {
  let iy = i32(oy * u.SH + (t / u.KW) * u.DH) - i32(u.PT);
  let ix = i32(ox * u.SW + (t % u.KW) * u.DW) - i32(u.PL);
  if (iy < 0 || iy >= i32(u.H) || ix < 0 || ix >= i32(u.W)) { return 0.0; }
  return m[u.x + ((b * u.CIN + z * u.CING + ci) * u.H + u32(iy)) * u.W + u32(ix)];
}`;

export const conv2dTiled = (
  ctx: GpuContext,
  name: string,
  a: Conv2dAttrs,
  xs: readonly number[],
  ys: readonly number[],
  weight: number,
  bias: number | null,
  options: TiledOptions = {},
) => {
  const pointwise = isPointwise(a);
  const loadB = pointwise
    ? 'fn loadB(z: u32, k: u32, c: u32) -> f32 { return m[addrB(z, k, c)]; }'
    : `${inputTap}
fn loadB(z: u32, k: u32, c: u32) -> f32 {
  let ox = c % u.OW;
  let oy = (c / u.OW) % u.OH;
  return inputTap(z, k / u.KHW, k % u.KHW, c / u.OHW, oy, ox);
}`;
  return gemmKernel(
    ctx,
    `${name} conv2d${pointwise ? ' 1×1' : ''}`,
    ['x', 'y', 'w', 'bs'],
    {
      M: ys[1] / a.groups,
      N: ys[0] * ys[2] * ys[3],
      K: (xs[1] / a.groups) * a.kernel[0] * a.kernel[1],
      Z: a.groups,
      // Whether there is a bias is a uniform too: a branch every invocation takes the same way.
      shapes: { ...convShapes(a, xs, ys), HASBIAS: bias !== null ? 1 : 0, ...activationShapes(a.activation.alpha) },
      prelude: activationWgsl(a.activation.kind),
      addrA: 'fn addrA(z: u32, r: u32, k: u32) -> u32 { return u.w + (z * u.COUTG + r) * u.K + k; }',
      loadA: 'fn loadA(z: u32, r: u32, k: u32) -> f32 { return m[addrA(z, r, k)]; }',
      aAlongK: true,
      // A 1×1 convolution's B is the input itself: contiguous along the pixels of one image, so four at a
      // time when an image's pixels come in whole fours.
      addrB: pointwise
        ? 'fn addrB(z: u32, k: u32, c: u32) -> u32 { return u.x + ((c / u.OHW) * u.CIN + z * u.CING + k) * u.OHW + c % u.OHW; }'
        : undefined,
      bFourWide: (ys[2] * ys[3]) % 4 === 0,
      loadB,
      bAlongK: false,
      vec4: options.vec4,
      store: `fn store(z: u32, r: u32, c: u32, acc: f32) {
  let co = z * u.COUTG + r;
  var v = acc;
  if (u.HASBIAS != 0u) { v += m[u.bs + co]; }
  m[u.y + ((c / u.OHW) * u.COUT + co) * u.OHW + c % u.OHW] = act(v);
}`,
    },
    ([x], y) => [f(x), f(y), f(weight), bias === null ? 0 : f(bias)],
  );
};

/** dX as the transposed convolution: rows ci of the group, columns (b, iy, ix), k = (co of the group, ky, kx). */
export const conv2dGradInputTiled: (ctx: GpuContext) => KernelFactory<'conv2dGradInput'> =
  (ctx) =>
  ({ name, attrs: a, params, inputShapes: [dys], outputShape: xs }) =>
    gemmKernel(
      ctx,
      `${name} conv2dGradInput`,
      ['dy', 'dx', 'w'],
      {
        M: xs[1] / a.groups,
        N: xs[0] * xs[2] * xs[3],
        K: (dys[1] / a.groups) * a.kernel[0] * a.kernel[1],
        Z: a.groups,
        shapes: convShapes(a, xs, dys),
        prelude: '',
        loadA: `fn loadA(z: u32, r: u32, k: u32) -> f32 {
  return m[u.w + ((z * u.COUTG + k / u.KHW) * u.CING + r) * u.KHW + k % u.KHW];
}`,
        aAlongK: true,
        loadB: `fn loadB(z: u32, k: u32, c: u32) -> f32 {
  let t = k % u.KHW;
  let ix = c % u.W;
  let iy = (c / u.W) % u.H;
  let ty = i32(iy) + i32(u.PT) - i32((t / u.KW) * u.DH);
  let tx = i32(ix) + i32(u.PL) - i32((t % u.KW) * u.DW);
  if (ty < 0 || tx < 0 || ty % i32(u.SH) != 0 || tx % i32(u.SW) != 0) { return 0.0; }
  let oy = u32(ty) / u.SH;
  let ox = u32(tx) / u.SW;
  if (oy >= u.OH || ox >= u.OW) { return 0.0; }
  return m[u.dy + (((c / u.HW) * u.COUT + z * u.COUTG + k / u.KHW) * u.OH + oy) * u.OW + ox];
}`,
        bAlongK: false,
        store: `fn store(z: u32, r: u32, c: u32, acc: f32) {
  m[u.dx + ((c / u.HW) * u.CIN + z * u.CING + r) * u.HW + c % u.HW] = acc;
}`,
      },
      ([dy], dx) => [f(dy), f(dx), f(params.weight.ptr)],
    );

/** dW: rows co of the group, columns (ci, ky, kx), k = (b, oy, ox) — long, so split across workgroups. */
export const conv2dGradWeightTiled: (
  ctx: GpuContext,
  tile?: GemmTile,
  options?: TiledOptions,
) => KernelFactory<'conv2dGradWeight'> =
  (ctx, tile, options = {}) =>
  ({ name, attrs: a, inputShapes: [dys, xs] }) =>
    gemmKernel(
      ctx,
      `${name} conv2dGradWeight`,
      ['dy', 'x', 'dw'],
      {
        M: dys[1] / a.groups,
        N: (xs[1] / a.groups) * a.kernel[0] * a.kernel[1],
        K: dys[0] * dys[2] * dys[3],
        Z: a.groups,
        tile,
        shapes: convShapes(a, xs, dys),
        prelude: inputTap,
        addrA: `fn addrA(z: u32, r: u32, k: u32) -> u32 {
  return u.dy + ((k / u.OHW) * u.COUT + z * u.COUTG + r) * u.OHW + k % u.OHW;
}`,
        loadA: 'fn loadA(z: u32, r: u32, k: u32) -> f32 { return m[addrA(z, r, k)]; }',
        aAlongK: true,
        // dY is contiguous along k = (b, oy, ox) within one image: four at a time when its pixels come in fours.
        aFourWide: (dys[2] * dys[3]) % 4 === 0,
        vec4: options.vec4,
        loadB: `fn loadB(z: u32, k: u32, c: u32) -> f32 {
  let p = k % u.OHW;
  return inputTap(z, c / u.KHW, c % u.KHW, k / u.OHW, p / u.OW, p % u.OW);
}`,
        bAlongK: true,
        store: 'fn store(z: u32, r: u32, c: u32, acc: f32) { m[u.dw + (z * u.COUTG + r) * u.N + c] = acc; }',
      },
      ([dy, x], dw) => [f(dy), f(x), f(dw)],
    );
