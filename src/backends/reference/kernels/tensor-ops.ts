import { normalizeDim, sizeOf } from '../../../core/shape.js';
import { broadcastStrides, matmulBatches } from '../../../ops/strides.js';
import type { BinaryKind } from '../../../ops/types.js';
import { unaryMath, unaryMathDerivative } from '../../../ops/unary-math.js';
import type { Arena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';

/**
 * Kernels of the ONNX tensor ops (src/ops/tensor-ops.ts), plain TypeScript over any arena. The wasm
 * backend runs these too, over its own memory, except where it has a faster path (wasm/kernels/tensor-ops.ts).
 */

const binaryFns: Record<BinaryKind, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  // NaN in either operand gives NaN (ONNX Max/Min, and wasm's f32x4.max/min).
  max: (a, b) => Math.max(a, b),
  min: (a, b) => Math.min(a, b),
  pow: (a, b) => a ** b,
  prelu: (a, b) => (a < 0 ? a * b : a),
};

/** Broadcasting a ∘ b: an odometer over the outer dimensions, a strided inner loop over the last. */
export function binaryBroadcast(
  kind: BinaryKind,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  y: Float32Array,
  out: readonly number[],
): void {
  const f = binaryFns[kind];
  const rank = out.length;
  if (rank === 0) {
    y[0] = f(a[0], b[0]);
    return;
  }
  const sa = broadcastStrides(aShape, out);
  const sb = broadcastStrides(bShape, out);
  const inner = out[rank - 1];
  const ia = sa[rank - 1];
  const ib = sb[rank - 1];
  const outer = sizeOf(out) / inner;
  const idx = new Array<number>(rank).fill(0);
  let pa = 0;
  let pb = 0;
  let py = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) y[py + i] = f(a[pa + i * ia], b[pb + i * ib]);
    py += inner;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      pa += sa[d];
      pb += sb[d];
      if (idx[d] < out[d]) break;
      pa -= sa[d] * out[d];
      pb -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

export const binaryGeneric =
  (arena: Arena): KernelFactory<'binary'> =>
  ({ attrs, inputShapes: [as, bs], outputShape }) => {
    const na = sizeOf(as);
    const nb = sizeOf(bs);
    const n = sizeOf(outputShape);
    return {
      scratchBytes: 0,
      run([ap, bp], yp) {
        binaryBroadcast(attrs.kind, arena.f32(ap, na), as, arena.f32(bp, nb), bs, arena.f32(yp, n), outputShape);
      },
    };
  };

export const constantGeneric =
  (arena: Arena): KernelFactory<'constant'> =>
  ({ params, outputShape }) => {
    const n = sizeOf(outputShape);
    const value = params.value;
    return {
      scratchBytes: 0,
      run(_, yp) {
        arena.f32(yp, n).set(arena.param(value));
      },
    };
  };

export const concatGeneric =
  (arena: Arena): KernelFactory<'concat'> =>
  ({ attrs, inputShapes, outputShape }) => {
    const axis = normalizeDim(attrs.axis, outputShape.length, 'concat');
    const outer = sizeOf(outputShape.slice(0, axis));
    const inner = sizeOf(outputShape.slice(axis + 1));
    const rows = inputShapes.map((s) => s[axis] * inner);
    const total = outputShape[axis] * inner;
    return {
      scratchBytes: 0,
      run(ins, yp) {
        const y = arena.f32(yp, outer * total);
        let offset = 0;
        ins.forEach((p, k) => {
          const x = arena.f32(p, outer * rows[k]);
          for (let o = 0; o < outer; o++) y.set(x.subarray(o * rows[k], (o + 1) * rows[k]), o * total + offset);
          offset += rows[k];
        });
      },
    };
  };

export const transposeGeneric =
  (arena: Arena): KernelFactory<'transpose'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(xs);
    const rank = xs.length;
    const inStrides = broadcastStrides(xs, xs);
    const strides = attrs.perm.map((p) => inStrides[p]);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, n);
        if (rank === 0) {
          y[0] = x[0];
          return;
        }
        const idx = new Array<number>(rank).fill(0);
        const inner = outputShape[rank - 1];
        const is = strides[rank - 1];
        let px = 0;
        for (let py = 0; py < n; py += inner) {
          for (let i = 0; i < inner; i++) y[py + i] = x[px + i * is];
          for (let d = rank - 2; d >= 0; d--) {
            idx[d]++;
            px += strides[d];
            if (idx[d] < outputShape[d]) break;
            px -= strides[d] * outputShape[d];
            idx[d] = 0;
          }
        }
      },
    };
  };

export const padGeneric =
  (arena: Arena): KernelFactory<'pad'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(xs);
    const m = sizeOf(outputShape);
    const rank = xs.length;
    const { pads, value } = attrs;
    const outStrides = broadcastStrides(outputShape, outputShape);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, m);
        y.fill(value);
        // Each input element lands at its index shifted by the begin pads (negative pads crop).
        const idx = new Array<number>(rank).fill(0);
        for (let i = 0; i < n; i++) {
          let o = 0;
          let inside = true;
          for (let d = 0; d < rank; d++) {
            const c = idx[d] + pads[d];
            if (c < 0 || c >= outputShape[d]) inside = false;
            o += c * outStrides[d];
          }
          if (inside) y[o] = x[i];
          for (let d = rank - 1; d >= 0; d--) {
            if (++idx[d] < xs[d]) break;
            idx[d] = 0;
          }
        }
      },
    };
  };

export const unaryGeneric =
  (arena: Arena): KernelFactory<'unary'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, n);
        for (let i = 0; i < n; i++) y[i] = unaryMath(x[i], attrs);
      },
    };
  };

export const matmulGeneric =
  (arena: Arena): KernelFactory<'matmul'> =>
  ({ inputShapes: [as, bs], outputShape }) => {
    const { m, n, k, offA, offB } = matmulBatches(as, bs, outputShape);
    const batches = offA.length;
    return {
      scratchBytes: 0,
      run([ap, bp], yp) {
        const a = arena.f32(ap, sizeOf(as));
        const b = arena.f32(bp, sizeOf(bs));
        const y = arena.f32(yp, batches * m * n);
        for (let t = 0; t < batches; t++) {
          const yo = t * m * n;
          y.fill(0, yo, yo + m * n);
          for (let i = 0; i < m; i++) {
            for (let p = 0; p < k; p++) {
              const av = a[offA[t] + i * k + p];
              const bo = offB[t] + p * n;
              for (let j = 0; j < n; j++) y[yo + i * n + j] += av * b[bo + j];
            }
          }
        }
      },
    };
  };

export const unaryGradGeneric =
  (arena: Arena): KernelFactory<'unaryGrad'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    return {
      scratchBytes: 0,
      run([dyp, xp], yp) {
        const dy = arena.f32(dyp, n);
        const x = arena.f32(xp, n);
        const dx = arena.f32(yp, n);
        for (let i = 0; i < n; i++) dx[i] = dy[i] * unaryMathDerivative(x[i], attrs);
      },
    };
  };
