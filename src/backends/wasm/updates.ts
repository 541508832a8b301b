import type { UpdateKernels } from '../backend.js';
import { hostUpdates } from '../host-updates.js';
import type { WasmContext } from './context.js';
import { elementRanges, runRanges } from './kernels/parallel.js';

/**
 * Parameter updates on wasm memory: the optimizers' SIMD kernels (assembly/optim.ts) and f32_add for
 * gradient accumulation run where the parameters live. They stream memory element by element, so large
 * parameters (the reference CNN's fc1: 4M weights) are split across threads by element ranges aligned to
 * the SIMD steps (each element updated by the same code as in one call). The clipping reductions keep the
 * TypeScript loops over the same memory: they are a small share of a step, and their float64 index-order
 * sums are what makes clipGradNorm equal on every backend.
 */
export function wasmUpdates(ctx: WasmContext): UpdateKernels {
  const { arena } = ctx;
  const host = hostUpdates(arena);
  /** `ptr` moved to element `a` (0 stays 0: an absent optional buffer). */
  const off = (ptr: number, a: number) => (ptr === 0 ? 0 : ptr + 4 * a);
  return {
    ...host,
    accumulate(src, dst, n, add) {
      if (!add) {
        arena.copy(src, dst, 4 * n);
        return;
      }
      runRanges(ctx, elementRanges(ctx, n, 3), (call, a, b) => call('f32_add', src + 4 * a, dst + 4 * a, dst + 4 * a, b - a));
    },
    sgd(p, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, first) {
      const b0 = momentum !== 0 ? buf : 0;
      runRanges(ctx, elementRanges(ctx, n, 3), (call, a, b) =>
        call(
          'f32_sgd_update',
          p + 4 * a,
          g + 4 * a,
          off(b0, a),
          b - a,
          lr,
          momentum,
          dampening,
          weightDecay,
          nesterov ? 1 : 0,
          first ? 1 : 0,
        ),
      );
    },
    adam(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weightDecay, decoupled, stepSize, bc2Sqrt) {
      const vm = vmax >= 0 ? vmax : 0;
      runRanges(ctx, elementRanges(ctx, n, 5), (call, a, b) =>
        call(
          'f32_adam_update',
          p + 4 * a,
          g + 4 * a,
          m + 4 * a,
          v + 4 * a,
          off(vm, a),
          b - a,
          lr,
          beta1,
          beta2,
          eps,
          weightDecay,
          decoupled ? 1 : 0,
          stepSize,
          bc2Sqrt,
        ),
      );
    },
  };
}
