import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import type { Arena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';
import { broadcastStrides } from '../../../ops/strides.js';
import { binaryBroadcast } from './tensor-ops.js';

/** Reductions, expand and strided slices (src/ops/reduce.ts, slice.ts), plain TypeScript over any arena. */

/**
 * Each input element adds into (or maxes) the output element it reduces to: the output's strides read as
 * broadcast to the input's shape (0 along reduced axes). Sums accumulate in float64.
 */
export const reduceGeneric =
  (arena: Arena): KernelFactory<'reduce'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(xs);
    const m = sizeOf(outputShape);
    const rank = xs.length;
    const strides = broadcastStrides(keptShape(xs, attrs.axes), xs);
    const count = n / Math.max(m, 1);
    const acc = new Float64Array(m);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, m);
        acc.fill(attrs.kind === 'max' ? Number.NEGATIVE_INFINITY : 0);
        const idx = new Array<number>(rank).fill(0);
        let o = 0;
        for (let i = 0; i < n; i++) {
          const v = x[i];
          if (attrs.kind === 'max') acc[o] = v > acc[o] || Number.isNaN(v) ? v : acc[o];
          else acc[o] += v;
          for (let d = rank - 1; d >= 0; d--) {
            o += strides[d];
            if (++idx[d] < xs[d]) break;
            o -= strides[d] * xs[d];
            idx[d] = 0;
          }
        }
        for (let j = 0; j < m; j++) y[j] = attrs.kind === 'mean' ? acc[j] / count : acc[j];
      },
    };
  };

export const expandGeneric =
  (arena: Arena): KernelFactory<'expand'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const scale = new Float32Array([attrs.scale]);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        binaryBroadcast('mul', arena.f32(xp, sizeOf(xs)), xs, scale, [1], arena.f32(yp, sizeOf(outputShape)), outputShape);
      },
    };
  };

/** y[i…] = x[starts + i·steps…]: an odometer over y, the read position moving by step × stride. */
export const sliceGeneric =
  (arena: Arena): KernelFactory<'slice'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(xs);
    const m = sizeOf(outputShape);
    const rank = xs.length;
    const inStrides = broadcastStrides(xs, xs);
    const base = attrs.starts.reduce((s, st, d) => s + st * inStrides[d], 0);
    const strides = attrs.steps.map((s, d) => s * inStrides[d]);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, m);
        const idx = new Array<number>(rank).fill(0);
        let p = base;
        for (let i = 0; i < m; i++) {
          y[i] = x[p];
          for (let d = rank - 1; d >= 0; d--) {
            p += strides[d];
            if (++idx[d] < outputShape[d]) break;
            p -= strides[d] * outputShape[d];
            idx[d] = 0;
          }
        }
      },
    };
  };
