import type { UpdateKernels } from '../backend.js';
import { hostUpdates } from '../host-updates.js';
import type { WasmContext } from './context.js';

/**
 * Parameter updates on wasm memory: the optimizers' SIMD kernels (assembly/optim.ts) and f32_add for
 * gradient accumulation run where the parameters live. The clipping reductions keep the TypeScript loops
 * over the same memory: they are a small share of a step, and their float64 index-order sums are what
 * makes clipGradNorm equal on every backend.
 */
export function wasmUpdates({ exports, arena }: WasmContext): UpdateKernels {
  const host = hostUpdates(arena);
  return {
    ...host,
    accumulate(src, dst, n, add) {
      if (add) exports.f32_add(src, dst, dst, n);
      else arena.copy(src, dst, 4 * n);
    },
    sgd(p, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, first) {
      exports.f32_sgd_update(
        p,
        g,
        momentum !== 0 ? buf : 0,
        n,
        lr,
        momentum,
        dampening,
        weightDecay,
        nesterov ? 1 : 0,
        first ? 1 : 0,
      );
    },
    adam(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weightDecay, decoupled, stepSize, bc2Sqrt) {
      exports.f32_adam_update(
        p,
        g,
        m,
        v,
        vmax >= 0 ? vmax : 0,
        n,
        lr,
        beta1,
        beta2,
        eps,
        weightDecay,
        decoupled ? 1 : 0,
        stepSize,
        bc2Sqrt,
      );
    },
  };
}
