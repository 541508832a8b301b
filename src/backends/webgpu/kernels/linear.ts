// Fully connected layers on WebGPU: y = x·Wᵀ + b with the activation fused, and the backward kernels
// (dX = dY·W, dW = dYᵀ·X, db = Σ dY over all but the channel dimension), all tiled GEMMs (gemm.ts) that
// differ only in how they read their operands and store their result.
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { activationShapes, activationWgsl } from './common.js';
import { TILE_COLUMN, type TiledOptions, gemmKernel } from './gemm.js';

/** y = act(x·Wᵀ + b): rows × outFeatures, K = inFeatures; both operands are contiguous along K. */
export const linearWebGpu =
  (ctx: GpuContext, options: TiledOptions = {}): KernelFactory<'linear'> =>
  ({ name, attrs, params, inputShapes: [xs] }) => {
    const { inFeatures: k, outFeatures: n } = attrs;
    return gemmKernel(
      ctx,
      `${name} linear`,
      ['x', 'y', 'w', 'bs'],
      {
        M: sizeOf(xs) / k,
        N: n,
        K: k,
        Z: 1,
        shapes: {
          HASBIAS: attrs.bias && params.bias !== undefined ? 1 : 0,
          ...activationShapes(attrs.activation.alpha),
        },
        prelude: activationWgsl(attrs.activation.kind),
        addrA: 'fn addrA(z: u32, r: u32, k: u32) -> u32 { return u.x + r * u.K + k; }',
        loadA: 'fn loadA(z: u32, r: u32, k: u32) -> f32 { return m[addrA(z, r, k)]; }',
        aAlongK: true,
        addrB: 'fn addrB(z: u32, k: u32, c: u32) -> u32 { return u.w + c * u.K + k; }',
        loadB: 'fn loadB(z: u32, k: u32, c: u32) -> f32 { return m[addrB(z, k, c)]; }',
        bAlongK: true,
        vec4: options.vec4,
        store: `fn store(z: u32, r: u32, c: u32, acc: f32) {
  var v = acc;
  if (u.HASBIAS != 0u) { v += m[u.bs + c]; }
  m[u.y + r * u.N + c] = act(v);
}`,
      },
      ([x], y) => [f(x), f(y), f(params.weight.ptr), params.bias ? f(params.bias.ptr) : 0],
    );
  };

/** dX = dY·W: rows × inFeatures, K = outFeatures. */
export const linearGradInputWebGpu =
  (ctx: GpuContext, options: TiledOptions = {}): KernelFactory<'linearGradInput'> =>
  ({ name, attrs, params, inputShapes: [dys] }) => {
    const { inFeatures: k, outFeatures: n } = attrs;
    return gemmKernel(
      ctx,
      `${name} linearGradInput`,
      ['dy', 'dx', 'w'],
      {
        M: sizeOf(dys) / n,
        N: k,
        K: n,
        Z: 1,
        prelude: '',
        addrA: 'fn addrA(z: u32, r: u32, k: u32) -> u32 { return u.dy + r * u.K + k; }',
        loadA: 'fn loadA(z: u32, r: u32, k: u32) -> f32 { return m[addrA(z, r, k)]; }',
        aAlongK: true,
        addrB: 'fn addrB(z: u32, k: u32, c: u32) -> u32 { return u.w + k * u.N + c; }',
        loadB: 'fn loadB(z: u32, k: u32, c: u32) -> f32 { return m[addrB(z, k, c)]; }',
        bAlongK: false,
        vec4: options.vec4,
        store: 'fn store(z: u32, r: u32, c: u32, acc: f32) { m[u.dx + r * u.N + c] = acc; }',
      },
      ([dy], dx) => [f(dy), f(dx), f(params.weight.ptr)],
    );
  };

/** dW = dYᵀ·X: outFeatures × inFeatures, K = rows (split when the batch is long and the layer small). */
export const linearGradWeightWebGpu =
  (ctx: GpuContext, options: TiledOptions = {}): KernelFactory<'linearGradWeight'> =>
  ({ name, attrs, inputShapes: [dys] }) => {
    const { inFeatures: k, outFeatures: n } = attrs;
    return gemmKernel(
      ctx,
      `${name} linearGradWeight`,
      ['dy', 'x', 'dw'],
      {
        M: n,
        N: k,
        K: sizeOf(dys) / n,
        Z: 1,
        prelude: '',
        addrA: 'fn addrA(z: u32, r: u32, k: u32) -> u32 { return u.dy + k * u.M + r; }',
        loadA: 'fn loadA(z: u32, r: u32, k: u32) -> f32 { return m[addrA(z, r, k)]; }',
        aAlongK: false,
        addrB: 'fn addrB(z: u32, k: u32, c: u32) -> u32 { return u.x + k * u.N + c; }',
        loadB: 'fn loadB(z: u32, k: u32, c: u32) -> f32 { return m[addrB(z, k, c)]; }',
        bAlongK: false,
        vec4: options.vec4,
        store: 'fn store(z: u32, r: u32, c: u32, acc: f32) { m[u.dw + r * u.N + c] = acc; }',
      },
      ([dy, x], dw) => [f(dy), f(x), f(dw)],
    );
  };

/**
 * Σ dY over every dimension but the channel one, as a one-column GEMM (rows = channels, K = outer × inner,
 * B = 1): K is split across workgroups and the partials summed in a fixed order, so a convolution's bias
 * gradient at batch 256 is not one thread walking 262,144 values per channel.
 */
export const biasGradWebGpu =
  (ctx: GpuContext, options: TiledOptions = {}): KernelFactory<'biasGrad'> =>
  ({ name, attrs, inputShapes: [dys] }) => {
    const dim = normalizeDim(attrs.channelDim, dys.length, 'biasGrad');
    const c = dys[dim];
    const inner = sizeOf(dys.slice(dim + 1));
    return gemmKernel(
      ctx,
      `${name} biasGrad`,
      ['dy', 'db'],
      {
        M: c,
        N: 1,
        K: sizeOf(dys.slice(0, dim)) * inner,
        Z: 1,
        tile: TILE_COLUMN,
        shapes: { INNER: inner },
        prelude: '',
        addrA: 'fn addrA(z: u32, r: u32, k: u32) -> u32 { return u.dy + ((k / u.INNER) * u.M + r) * u.INNER + k % u.INNER; }',
        loadA: 'fn loadA(z: u32, r: u32, k: u32) -> f32 { return m[addrA(z, r, k)]; }',
        aAlongK: true,
        // Four consecutive k stay within one channel's run of INNER values only when INNER is a multiple of 4.
        aFourWide: inner % 4 === 0,
        vec4: options.vec4,
        loadB: 'fn loadB(z: u32, k: u32, c: u32) -> f32 { return 1.0; }',
        bAlongK: true,
        store: 'fn store(z: u32, r: u32, c: u32, acc: f32) { m[u.db + r] = acc; }',
      },
      ([dy], db) => [f(dy), f(db)],
    );
  };
