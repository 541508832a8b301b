import { sizeOf } from '../../../core/shape.js';
import { activate } from '../../../ops/activation-math.js';
import type { HostArena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';

/** y = x · Wᵀ + b over the last dimension. */
export const linearReference =
  (arena: HostArena): KernelFactory<'linear'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const { inFeatures: k, outFeatures: m, activation } = attrs;
    const rows = sizeOf(xs) / k;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, rows * k);
        const y = arena.f32(yp, rows * m);
        const weight = arena.param(params.weight);
        const bias = params.bias ? arena.param(params.bias) : undefined;
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < m; o++) {
            let acc = bias ? bias[o] : 0;
            for (let i = 0; i < k; i++) acc += x[r * k + i] * weight[o * k + i];
            y[r * m + o] = activate(acc, activation.kind, activation.alpha);
          }
        }
      },
    };
  };
