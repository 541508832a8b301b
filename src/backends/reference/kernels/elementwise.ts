import { sizeOf } from '../../../core/shape.js';
import { normalizeDim } from '../../../core/shape.js';
import { Random } from '../../../core/random.js';
import { activate } from '../../../ops/activation-math.js';
import { dropoutGenerator, nextMaskSeed } from '../../../ops/elementwise.js';
import type { HostArena } from '../../arena.js';
import type { KernelFactory, PreparedKernel } from '../../backend.js';

export const activationReference =
  (arena: HostArena): KernelFactory<'activation'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const { kind, alpha } = attrs;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, n);
        for (let i = 0; i < n; i++) y[i] = activate(x[i], kind, alpha);
      },
    };
  };

export const addReference =
  (arena: HostArena): KernelFactory<'add'> =>
  ({ outputShape }) =>
    elementPairsKernel(arena, sizeOf(outputShape), (a, b) => a + b);

/**
 * The kernel of an op whose output element i depends on element i of its two same-sized inputs only:
 * y[i] = f(a[i], b[i]) for the n elements of the output (add, mul, the activation's backward).
 */
export function elementPairsKernel(arena: HostArena, n: number, f: (a: number, b: number) => number): PreparedKernel {
  return {
    scratchBytes: 0,
    run([ap, bp], yp) {
      const a = arena.f32(ap, n);
      const b = arena.f32(bp, n);
      const y = arena.f32(yp, n);
      for (let i = 0; i < n; i++) y[i] = f(a[i], b[i]);
    },
  };
}

/**
 * Eval mode normalizes with the running statistics. Training mode normalizes with the batch's own
 * (biased) variance and updates the running ones with PyTorch's momentum rule (unbiased variance).
 */
export const batchNorm2dReference =
  (arena: HostArena): KernelFactory<'batchNorm2d'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const [n, c, h, w] = xs;
    const hw = h * w;
    const { eps, momentum, training } = attrs;
    const p = params;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n * c * hw);
        const y = arena.f32(yp, n * c * hw);
        const runningMean = arena.param(p.running_mean);
        const runningVar = arena.param(p.running_var);
        const gamma = arena.param(p.weight);
        const beta = arena.param(p.bias);
        for (let ch = 0; ch < c; ch++) {
          let mean = runningMean[ch];
          let variance = runningVar[ch];
          if (training) {
            let sum = 0;
            for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sum += x[(b * c + ch) * hw + i];
            mean = sum / (n * hw);
            let sq = 0;
            for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sq += (x[(b * c + ch) * hw + i] - mean) ** 2;
            variance = sq / (n * hw);
            const unbiased = n * hw > 1 ? sq / (n * hw - 1) : variance;
            runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean;
            runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * unbiased;
          }
          const scale = gamma[ch] / Math.sqrt(variance + eps);
          const shift = beta[ch] - mean * scale;
          for (let b = 0; b < n; b++) {
            const base = (b * c + ch) * hw;
            for (let i = 0; i < hw; i++) y[base + i] = x[base + i] * scale + shift;
          }
        }
        if (training) {
          p.running_mean.changed();
          p.running_var.changed();
        }
      },
    };
  };

/** Training-mode dropout: the layer generator's next mask (see nextMaskSeed), scaled by 1/(1-p). */
export const dropoutReference =
  (arena: HostArena): KernelFactory<'dropout'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const { p } = attrs;
    const generator = dropoutGenerator(attrs);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, n);
        const random = new Random(nextMaskSeed(generator));
        const scale = 1 / (1 - p);
        for (let i = 0; i < n; i++) y[i] = random.next() < p ? 0 : x[i] * scale;
      },
    };
  };

export const softmaxReference =
  (arena: HostArena): KernelFactory<'softmax'> =>
  ({ attrs, outputShape }) => {
    const dim = normalizeDim(attrs.dim, outputShape.length, 'softmax');
    const size = outputShape[dim];
    const inner = sizeOf(outputShape.slice(dim + 1));
    const outer = sizeOf(outputShape.slice(0, dim));
    const n = sizeOf(outputShape);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, n);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const base = o * size * inner + i;
            let max = Number.NEGATIVE_INFINITY;
            for (let k = 0; k < size; k++) max = Math.max(max, x[base + k * inner]);
            let sum = 0;
            for (let k = 0; k < size; k++) {
              const e = Math.exp(x[base + k * inner] - max);
              y[base + k * inner] = e;
              sum += e;
            }
            for (let k = 0; k < size; k++) y[base + k * inner] /= sum;
          }
        }
      },
    };
  };
