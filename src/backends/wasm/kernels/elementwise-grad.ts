import { Random } from '../../../core/random.js';
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import { dropoutGenerator, nextMaskSeed } from '../../../ops/elementwise.js';
import type { ActivationKind } from '../../../ops/types.js';
import type { KernelFactory, ParamHandle } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { elementRanges, partsFor, planeRanges, runRanges, splitRange } from './parallel.js';

/** The kind numbers of f32_activation_grad (assembly/grad_eltwise.ts). */
const kindCode: Record<ActivationKind, number> = { none: 0, relu: 1, relu6: 2, leakyRelu: 3, sigmoid: 4, tanh: 5 };

/** dX = dY · f'(v); large tensors split across threads by element ranges (parallel.ts). */
export const activationGradWasm =
  (ctx: WasmContext): KernelFactory<'activationGrad'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const code = kindCode[attrs.kind];
    const ranges = elementRanges(ctx, n, 3);
    return {
      scratchBytes: 0,
      run([dy, v], dx) {
        runRanges(ctx, ranges, (call, a, b) =>
          call('f32_activation_grad', dy + 4 * a, v + 4 * a, dx + 4 * a, b - a, code, attrs.alpha),
        );
      },
    };
  };

export const mulWasm =
  (ctx: WasmContext): KernelFactory<'mul'> =>
  ({ outputShape }) => {
    const n = sizeOf(outputShape);
    const ranges = elementRanges(ctx, n, 3);
    return {
      scratchBytes: 0,
      run([a, b], y) {
        runRanges(ctx, ranges, (call, e0, e1) => call('f32_mul', a + 4 * e0, b + 4 * e0, y + 4 * e0, e1 - e0));
      },
    };
  };

/** The mask drawn on the host with the reference's generator and order, so both backends agree bit for bit. */
export const dropoutMaskWasm =
  ({ arena }: WasmContext): KernelFactory<'dropoutMask'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const { p } = attrs;
    const scale = Math.fround(1 / (1 - p));
    const generator = dropoutGenerator(attrs);
    return {
      scratchBytes: 0,
      run(_, mp) {
        const mask = arena.f32(mp, n);
        const random = new Random(nextMaskSeed(generator));
        for (let i = 0; i < n; i++) mask[i] = random.next() < p ? 0 : scale;
      },
    };
  };

/**
 * db[ch] = Σ dY over every axis but the channel's. Large gradients are split across threads by channel
 * ranges (f32_bias_grad_channels), each channel summed as in one call; builds without that export run one call.
 */
export const biasGradWasm =
  (ctx: WasmContext): KernelFactory<'biasGrad'> =>
  ({ attrs, inputShapes: [dys] }) => {
    const dim = normalizeDim(attrs.channelDim, dys.length, 'biasGrad');
    const c = dys[dim];
    const outer = sizeOf(dys.slice(0, dim));
    const inner = sizeOf(dys.slice(dim + 1));
    const split = typeof ctx.exports.f32_bias_grad_channels === 'function';
    // Linear biases (inner = 1) add rows across channels with SIMD: channel ranges in multiples of 4.
    const ranges = split ? splitRange(c, partsFor(ctx, outer * c * inner), inner === 1 ? 4 : 1) : [[0, c] as [number, number]];
    return {
      scratchBytes: 0,
      run([dy], db) {
        if (ranges.length <= 1) {
          ctx.exports.f32_bias_grad(dy, db, outer, c, inner);
          return;
        }
        runRanges(ctx, ranges, (call, c0, c1) => call('f32_bias_grad_channels', dy, db, outer, c, inner, c0, c1));
      },
    };
  };

export const softmaxGradWasm =
  ({ exports }: WasmContext): KernelFactory<'softmaxGrad'> =>
  ({ attrs, outputShape }) => {
    const dim = normalizeDim(attrs.dim, outputShape.length, 'softmax');
    const size = outputShape[dim];
    const inner = sizeOf(outputShape.slice(dim + 1));
    const outer = sizeOf(outputShape.slice(0, dim));
    return {
      scratchBytes: 0,
      run([dy, y], dx) {
        exports.f32_softmax_grad(dy, y, dx, outer, size, inner);
      },
    };
  };

/**
 * Scratch of the BatchNorm backward: f64 mean and variance (from f32_batchnorm_stats_nchw in training,
 * the running statistics in eval), f64 sums Σdy and Σdy·(x − mean), then f32 coefficients.
 */
function batchNormBackward(
  ctx: WasmContext,
  attrs: { eps: number; training: boolean },
  params: Readonly<Record<string, ParamHandle>>,
  xs: readonly number[],
) {
  const [n, c, h, w] = xs;
  const hw = h * w;
  const { arena } = ctx;
  const scratchBytes = 16 * c + 16 * c + 12 * c;
  // Threads take channel ranges for the sums (each channel's in the one-call order) and images for the
  // per-element dX (what the convolution gradient after it reads by images, from the same cache).
  const channels = planeRanges(ctx, c, 2 * n * hw);
  const images = planeRanges(ctx, n, 2 * c * hw);
  /** Fills stats and sums; returns [mean, invstd, sdy, sdyx] views (f64). */
  const reduce = (dy: number, x: number, scratch: number) => {
    const stats = new Float64Array(arena.buffer, scratch, 2 * c);
    if (!attrs.training) {
      stats.set(arena.param(params.running_mean), 0);
      stats.set(arena.param(params.running_var), c);
    }
    runRanges(ctx, channels, (call, c0, c1) => {
      if (attrs.training) call('f32_batchnorm_stats_nchw', x, scratch, n, c, hw, c0, c1);
      call('f32_batchnorm_grad_sums_nchw', dy, x, scratch, scratch + 16 * c, n, c, hw, c0, c1);
    });
    const s = new Float64Array(arena.buffer, scratch, 4 * c);
    const invstd = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) invstd[ch] = 1 / Math.sqrt(s[c + ch] + attrs.eps);
    return { mean: s.subarray(0, c), invstd, sdy: s.subarray(2 * c, 3 * c), sdyx: s.subarray(3 * c, 4 * c) };
  };
  return { n, c, hw, scratchBytes, reduce, images };
}

/**
 * dX = k·dY + b·X + t per channel, folded here from the f64 sums. Training: dX = k·(dY − Σdy/M − x̂·Σ(dy·x̂)/M)
 * with k = γ·invstd, so b = −k·invstd²·Σ(dy·(x−mean))/M and t = −b·mean − k·Σdy/M. Eval: dX = k·dY.
 */
export const batchNorm2dGradInputWasm =
  (ctx: WasmContext): KernelFactory<'batchNorm2dGradInput'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const bn = batchNormBackward(ctx, attrs, params, xs);
    const { n, c, hw } = bn;
    const m = n * hw;
    return {
      scratchBytes: bn.scratchBytes,
      run([dy, x], dx, scratch) {
        const { mean, invstd, sdy, sdyx } = bn.reduce(dy, x, scratch);
        const coef = ctx.arena.f32(scratch + 32 * c, 3 * c);
        const gamma = ctx.arena.param(params.weight);
        for (let ch = 0; ch < c; ch++) {
          const k = gamma[ch] * invstd[ch];
          if (!attrs.training) {
            coef[ch] = k;
            coef[c + ch] = 0;
            coef[2 * c + ch] = 0;
            continue;
          }
          // x̂ = (x − mean)·invstd, Σ dy·x̂ = invstd·sdyx.
          const slope = (k * invstd[ch] * invstd[ch] * sdyx[ch]) / m;
          coef[ch] = k;
          coef[c + ch] = -slope;
          coef[2 * c + ch] = slope * mean[ch] - (k * sdy[ch]) / m;
        }
        runRanges(ctx, bn.images, (call, b0, b1) => {
          const at = 4 * b0 * c * hw;
          call('f32_batchnorm_grad_input_nchw', dy + at, x + at, dx + at, scratch + 32 * c, b1 - b0, c, hw, 0, c);
        });
      },
    };
  };

/** dγ = invstd · Σ dY·(X − mean). */
export const batchNorm2dGradWeightWasm =
  (ctx: WasmContext): KernelFactory<'batchNorm2dGradWeight'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const bn = batchNormBackward(ctx, attrs, params, xs);
    return {
      scratchBytes: bn.scratchBytes,
      run([dy, x], dg, scratch) {
        const { invstd, sdyx } = bn.reduce(dy, x, scratch);
        const out = ctx.arena.f32(dg, bn.c);
        for (let ch = 0; ch < bn.c; ch++) out[ch] = sdyx[ch] * invstd[ch];
      },
    };
  };
