import { Random } from '../../../core/random.js';
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import { activationDerivative } from '../../../ops/activation-math.js';
import { dropoutGenerator, nextMaskSeed } from '../../../ops/elementwise.js';
import type { BatchNorm2dAttrs } from '../../../ops/types.js';
import type { HostArena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';
import { elementPairsKernel } from './elementwise.js';

/** Inputs: dY and the saved value the derivative reads (output, or input for leakyRelu). */
export const activationGradReference =
  (arena: HostArena): KernelFactory<'activationGrad'> =>
  ({ attrs, outputShape }) => {
    const { kind, alpha } = attrs;
    return elementPairsKernel(arena, sizeOf(outputShape), (dy, v) => dy * activationDerivative(v, kind, alpha));
  };

export const mulReference =
  (arena: HostArena): KernelFactory<'mul'> =>
  ({ outputShape }) =>
    elementPairsKernel(arena, sizeOf(outputShape), (a, b) => a * b);

/** The mask training dropout multiplies by: the layer generator's next mask, the same draws as the dropout kernel. */
export const dropoutMaskReference =
  (arena: HostArena): KernelFactory<'dropoutMask'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const { p } = attrs;
    const generator = dropoutGenerator(attrs);
    return {
      scratchBytes: 0,
      run(_, mp) {
        const mask = arena.f32(mp, n);
        const random = new Random(nextMaskSeed(generator));
        const scale = 1 / (1 - p);
        for (let i = 0; i < n; i++) mask[i] = random.next() < p ? 0 : scale;
      },
    };
  };

/** Σ dY over every dimension but the channel one. */
export const biasGradReference =
  (arena: HostArena): KernelFactory<'biasGrad'> =>
  ({ attrs, inputShapes: [dys] }) => {
    const dim = normalizeDim(attrs.channelDim, dys.length, 'biasGrad');
    const c = dys[dim];
    const outer = sizeOf(dys.slice(0, dim));
    const inner = sizeOf(dys.slice(dim + 1));
    return {
      scratchBytes: 0,
      run([dyp], dbp) {
        const dy = arena.f32(dyp, outer * c * inner);
        const db = arena.f32(dbp, c);
        for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sum += dy[(o * c + ch) * inner + i];
          db[ch] = sum;
        }
      },
    };
  };

/** Mean and 1/sqrt(var + eps) of one channel: the batch's (biased variance) in training, else the running ones. */
function channelStats(
  x: Float32Array,
  n: number,
  c: number,
  hw: number,
  ch: number,
  a: BatchNorm2dAttrs,
  rm: Float32Array,
  rv: Float32Array,
): [number, number] {
  if (!a.training) return [rm[ch], 1 / Math.sqrt(rv[ch] + a.eps)];
  let sum = 0;
  for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sum += x[(b * c + ch) * hw + i];
  const mean = sum / (n * hw);
  let sq = 0;
  for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sq += (x[(b * c + ch) * hw + i] - mean) ** 2;
  return [mean, 1 / Math.sqrt(sq / (n * hw) + a.eps)];
}

/**
 * Training: dX = γ·invstd·(dY − mean(dY) − x̂·mean(dY·x̂)), the batch statistics being functions of X.
 * Eval: dX = dY·γ·invstd with the running statistics. Inputs: dY, X.
 */
export const batchNorm2dGradInputReference =
  (arena: HostArena): KernelFactory<'batchNorm2dGradInput'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const [n, c, h, w] = xs;
    const hw = h * w;
    const m = n * hw;
    const p = params;
    return {
      scratchBytes: 0,
      run([dyp, xp], dxp) {
        const dy = arena.f32(dyp, n * c * hw);
        const x = arena.f32(xp, n * c * hw);
        const dx = arena.f32(dxp, n * c * hw);
        for (let ch = 0; ch < c; ch++) {
          const [mean, invstd] = channelStats(x, n, c, hw, ch, attrs, arena.param(p.running_mean), arena.param(p.running_var));
          const gamma = arena.param(p.weight)[ch];
          let sdy = 0;
          let sdyx = 0;
          if (attrs.training) {
            for (let b = 0; b < n; b++) {
              for (let i = 0; i < hw; i++) {
                const k = (b * c + ch) * hw + i;
                sdy += dy[k];
                sdyx += dy[k] * (x[k] - mean) * invstd;
              }
            }
          }
          for (let b = 0; b < n; b++) {
            for (let i = 0; i < hw; i++) {
              const k = (b * c + ch) * hw + i;
              const xhat = (x[k] - mean) * invstd;
              dx[k] = attrs.training ? gamma * invstd * (dy[k] - sdy / m - (xhat * sdyx) / m) : dy[k] * gamma * invstd;
            }
          }
        }
      },
    };
  };

/** dγ = Σ dY·x̂ per channel. Inputs: dY, X. */
export const batchNorm2dGradWeightReference =
  (arena: HostArena): KernelFactory<'batchNorm2dGradWeight'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const [n, c, h, w] = xs;
    const hw = h * w;
    const p = params;
    return {
      scratchBytes: 0,
      run([dyp, xp], dgp) {
        const dy = arena.f32(dyp, n * c * hw);
        const x = arena.f32(xp, n * c * hw);
        const dg = arena.f32(dgp, c);
        for (let ch = 0; ch < c; ch++) {
          const [mean, invstd] = channelStats(x, n, c, hw, ch, attrs, arena.param(p.running_mean), arena.param(p.running_var));
          let sum = 0;
          for (let b = 0; b < n; b++)
            for (let i = 0; i < hw; i++) sum += dy[(b * c + ch) * hw + i] * (x[(b * c + ch) * hw + i] - mean) * invstd;
          dg[ch] = sum;
        }
      },
    };
  };

/** dX = y·(dY − Σ dY·y) along dim. Inputs: dY, Y. */
export const softmaxGradReference =
  (arena: HostArena): KernelFactory<'softmaxGrad'> =>
  ({ attrs, outputShape }) => {
    const dim = normalizeDim(attrs.dim, outputShape.length, 'softmax');
    const size = outputShape[dim];
    const inner = sizeOf(outputShape.slice(dim + 1));
    const outer = sizeOf(outputShape.slice(0, dim));
    const n = sizeOf(outputShape);
    return {
      scratchBytes: 0,
      run([dyp, yp], dxp) {
        const dy = arena.f32(dyp, n);
        const y = arena.f32(yp, n);
        const dx = arena.f32(dxp, n);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const base = o * size * inner + i;
            let dot = 0;
            for (let k = 0; k < size; k++) dot += dy[base + k * inner] * y[base + k * inner];
            for (let k = 0; k < size; k++) dx[base + k * inner] = y[base + k * inner] * (dy[base + k * inner] - dot);
          }
        }
      },
    };
  };
