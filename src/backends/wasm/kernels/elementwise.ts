import { Random } from '../../../core/random.js';
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import { dropoutGenerator, nextMaskSeed } from '../../../ops/elementwise.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { type Invoke, elementRanges, planeRanges, runRanges } from './parallel.js';

/**
 * Element-wise activations; the wasm kernels allow x == y, so GEMM epilogues may reuse them in place.
 * Large tensors are split across threads by element ranges (parallel.ts: elementRanges).
 */
export const activationWasm =
  (ctx: WasmContext): KernelFactory<'activation'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const { kind, alpha } = attrs;
    const ranges = elementRanges(ctx, n);
    const run: (call: Invoke, x: number, y: number, m: number) => void = (() => {
      switch (kind) {
        case 'relu':
          return (call: Invoke, x: number, y: number, m: number) => call('f32_relu', x, y, m);
        case 'relu6':
          return (call: Invoke, x: number, y: number, m: number) => call('f32_relu6', x, y, m);
        case 'leakyRelu':
          return (call: Invoke, x: number, y: number, m: number) => call('f32_leaky_relu', x, y, m, alpha);
        case 'sigmoid':
          return (call: Invoke, x: number, y: number, m: number) => call('f32_sigmoid', x, y, m);
        case 'tanh':
          return (call: Invoke, x: number, y: number, m: number) => call('f32_tanh', x, y, m);
        case 'none':
          // Identity: leaky ReLU with slope 1 is a copy that keeps NaN and -0.
          return (call: Invoke, x: number, y: number, m: number) => call('f32_leaky_relu', x, y, m, 1);
      }
    })();
    return {
      scratchBytes: 0,
      run([x], y) {
        runRanges(ctx, ranges, (call, a, b) => run(call, x + 4 * a, y + 4 * a, b - a));
      },
    };
  };

export const addWasm =
  (ctx: WasmContext): KernelFactory<'add'> =>
  ({ outputShape }) => {
    const n = sizeOf(outputShape);
    const ranges = elementRanges(ctx, n, 3);
    return {
      scratchBytes: 0,
      run([a, b], y) {
        runRanges(ctx, ranges, (call, e0, e1) => call('f32_add', a + 4 * e0, b + 4 * e0, y + 4 * e0, e1 - e0));
      },
    };
  };

/**
 * Batch norm as a per-channel scale and shift. Eval: folded from the running statistics in `pack()`
 * (the plan calls it whenever a parameter or running statistic changes). Training: the kernel
 * computes the batch mean and biased variance (f64 accumulation), then this glue updates the
 * running statistics with PyTorch's momentum rule (unbiased variance), exactly as the reference does,
 * and folds the batch statistics into scale and shift.
 */
export const batchNorm2dWasm =
  (ctx: WasmContext): KernelFactory<'batchNorm2d'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const { arena } = ctx;
    const [n, c, h, w] = xs;
    const hw = h * w;
    // Threads take channel ranges for the statistics (each channel's sums in the one-call order) and images
    // for the map, which is per element: each thread then maps the images the convolution before it wrote
    // (split by images too) and the activation after it reads, in its own cache.
    const channels = planeRanges(ctx, c, 2 * n * hw);
    const images = planeRanges(ctx, n, 2 * c * hw);
    const { eps, momentum, training } = attrs;
    const p = params;
    const scaleShift = arena.alloc(8 * c);
    const stats = training ? arena.alloc(16 * c) : -1;
    const fold = (mean: ArrayLike<number>, variance: ArrayLike<number>) => {
      const ss = arena.f32(scaleShift, 2 * c);
      const gamma = arena.param(p.weight);
      const beta = arena.param(p.bias);
      for (let ch = 0; ch < c; ch++) {
        const scale = gamma[ch] / Math.sqrt(variance[ch] + eps);
        ss[ch] = scale;
        ss[c + ch] = beta[ch] - mean[ch] * scale;
      }
    };
    return {
      scratchBytes: 0,
      pack() {
        if (!training) fold(arena.param(p.running_mean), arena.param(p.running_var));
      },
      run([x], y) {
        if (training) {
          runRanges(ctx, channels, (call, c0, c1) => call('f32_batchnorm_stats_nchw', x, stats, n, c, hw, c0, c1));
          const s = new Float64Array(arena.buffer, stats, 2 * c);
          const mean = s.subarray(0, c);
          const variance = s.subarray(c);
          const count = n * hw;
          const rm = arena.param(p.running_mean);
          const rv = arena.param(p.running_var);
          for (let ch = 0; ch < c; ch++) {
            const unbiased = count > 1 ? (variance[ch] * count) / (count - 1) : variance[ch];
            rm[ch] = (1 - momentum) * rm[ch] + momentum * mean[ch];
            rv[ch] = (1 - momentum) * rv[ch] + momentum * unbiased;
          }
          fold(mean, variance);
          p.running_mean.changed();
          p.running_var.changed();
        }
        runRanges(ctx, images, (call, b0, b1) => {
          const at = 4 * b0 * c * hw;
          call('f32_scale_shift_nchw', x + at, y + at, scaleShift, b1 - b0, c, hw, 0, c);
        });
      },
      dispose() {
        arena.free(scaleShift);
        if (stats >= 0) arena.free(stats);
      },
    };
  };

/**
 * Training-mode dropout (eval and p = 0 are aliases and never reach a kernel). The mask comes from
 * the same generator, seed and draw order as the reference backend's, written as bytes into the
 * plan's scratch; the kernel scales in f64 and rounds once, so both backends agree bit for bit.
 */
export const dropoutWasm =
  ({ exports, arena }: WasmContext): KernelFactory<'dropout'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const { p } = attrs;
    const scale = 1 / (1 - p);
    const generator = dropoutGenerator(attrs);
    return {
      scratchBytes: n,
      run([x], y, scratch) {
        const random = new Random(nextMaskSeed(generator));
        const keep = new Uint8Array(arena.buffer, scratch, n);
        for (let i = 0; i < n; i++) keep[i] = random.next() < p ? 0 : 1;
        exports.f32_dropout_apply(x, scratch, y, n, scale);
      },
    };
  };

export const softmaxWasm =
  ({ exports }: WasmContext): KernelFactory<'softmax'> =>
  ({ attrs, outputShape }) => {
    const dim = normalizeDim(attrs.dim, outputShape.length, 'softmax');
    const size = outputShape[dim];
    const inner = sizeOf(outputShape.slice(dim + 1));
    const outer = sizeOf(outputShape.slice(0, dim));
    return {
      scratchBytes: 0,
      run([x], y) {
        exports.f32_softmax(x, y, outer, size, inner);
      },
    };
  };
