import { sizeOf } from '../../../core/shape.js';
import type { HostArena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';

/** dX = dY · W. */
export const linearGradInputReference =
  (arena: HostArena): KernelFactory<'linearGradInput'> =>
  ({ attrs, params, inputShapes: [dys] }) => {
    const { inFeatures: k, outFeatures: m } = attrs;
    const rows = sizeOf(dys) / m;
    return {
      scratchBytes: 0,
      run([dyp], dxp) {
        const dy = arena.f32(dyp, rows * m);
        const dx = arena.f32(dxp, rows * k);
        const weight = arena.param(params.weight);
        for (let r = 0; r < rows; r++) {
          for (let i = 0; i < k; i++) {
            let sum = 0;
            for (let o = 0; o < m; o++) sum += dy[r * m + o] * weight[o * k + i];
            dx[r * k + i] = sum;
          }
        }
      },
    };
  };

/** dW = dYᵀ · X. Inputs: dY, X. */
export const linearGradWeightReference =
  (arena: HostArena): KernelFactory<'linearGradWeight'> =>
  ({ attrs, inputShapes: [dys] }) => {
    const { inFeatures: k, outFeatures: m } = attrs;
    const rows = sizeOf(dys) / m;
    return {
      scratchBytes: 0,
      run([dyp, xp], dwp) {
        const dy = arena.f32(dyp, rows * m);
        const x = arena.f32(xp, rows * k);
        const dw = arena.f32(dwp, m * k);
        for (let o = 0; o < m; o++) {
          for (let i = 0; i < k; i++) {
            let sum = 0;
            for (let r = 0; r < rows; r++) sum += dy[r * m + o] * x[r * k + i];
            dw[o * k + i] = sum;
          }
        }
      },
    };
  };
