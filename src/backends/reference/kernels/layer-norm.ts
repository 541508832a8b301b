import { sizeOf } from '../../../core/shape.js';
import type { Arena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';

/** Layer normalization and its gradients (src/ops/layer-norm.ts), per row in float64. */

/** Mean and 1/sqrt(var + eps) of row r (biased variance, two passes). */
function rowStats(x: Float32Array, r: number, cols: number, eps: number): [number, number] {
  let s = 0;
  for (let j = 0; j < cols; j++) s += x[r * cols + j];
  const mean = s / cols;
  let v = 0;
  for (let j = 0; j < cols; j++) {
    const d = x[r * cols + j] - mean;
    v += d * d;
  }
  return [mean, 1 / Math.sqrt(v / cols + eps)];
}

export const layerNormReference =
  (arena: Arena): KernelFactory<'layerNorm'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const n = sizeOf(xs);
    const cols = sizeOf(attrs.normalizedShape);
    const rows = n / cols;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, n);
        const y = arena.f32(yp, n);
        const w = attrs.affine ? arena.param(params.weight) : null;
        const b = attrs.affine ? arena.param(params.bias) : null;
        for (let r = 0; r < rows; r++) {
          const [mean, rstd] = rowStats(x, r, cols, attrs.eps);
          for (let j = 0; j < cols; j++) {
            const h = (x[r * cols + j] - mean) * rstd;
            y[r * cols + j] = w && b ? h * w[j] + b[j] : h;
          }
        }
      },
    };
  };

export const layerNormGradInputReference =
  (arena: Arena): KernelFactory<'layerNormGradInput'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const n = sizeOf(xs);
    const cols = sizeOf(attrs.normalizedShape);
    const rows = n / cols;
    const g = new Float64Array(cols);
    return {
      scratchBytes: 0,
      run([dyp, xp], dxp) {
        const dy = arena.f32(dyp, n);
        const x = arena.f32(xp, n);
        const dx = arena.f32(dxp, n);
        const w = attrs.affine ? arena.param(params.weight) : null;
        for (let r = 0; r < rows; r++) {
          const [mean, rstd] = rowStats(x, r, cols, attrs.eps);
          let sg = 0;
          let sgh = 0;
          for (let j = 0; j < cols; j++) {
            g[j] = dy[r * cols + j] * (w ? w[j] : 1);
            sg += g[j];
            sgh += g[j] * (x[r * cols + j] - mean) * rstd;
          }
          for (let j = 0; j < cols; j++) {
            const h = (x[r * cols + j] - mean) * rstd;
            dx[r * cols + j] = rstd * (g[j] - sg / cols - (h * sgh) / cols);
          }
        }
      },
    };
  };

export const layerNormGradWeightReference =
  (arena: Arena): KernelFactory<'layerNormGradWeight'> =>
  ({ attrs, inputShapes: [xs] }) => {
    const n = sizeOf(xs);
    const cols = sizeOf(attrs.normalizedShape);
    const rows = n / cols;
    const acc = new Float64Array(cols);
    return {
      scratchBytes: 0,
      run([dyp, xp], dwp) {
        const dy = arena.f32(dyp, n);
        const x = arena.f32(xp, n);
        acc.fill(0);
        for (let r = 0; r < rows; r++) {
          const [mean, rstd] = rowStats(x, r, cols, attrs.eps);
          for (let j = 0; j < cols; j++) acc[j] += dy[r * cols + j] * (x[r * cols + j] - mean) * rstd;
        }
        arena.f32(dwp, cols).set(acc);
      },
    };
  };
