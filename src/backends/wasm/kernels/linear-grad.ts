import { VireoError } from '../../../core/errors.js';
import { sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';

function requireGemm(ctx: WasmContext, name: string): void {
  if (typeof ctx.exports.f32_gemm !== 'function' || typeof ctx.exports.f32_gemm_scratch_bytes !== 'function') {
    throw new VireoError(`layer '${name}': this wasm build has no f32_gemm kernel (assembly/gemm.ts) for the linear backward`);
  }
}

/** dX[rows, in] = dY[rows, out] · W[out, in] (f32_gemm; W copied into wasm memory by pack()). */
export const linearGradInputWasm =
  (ctx: WasmContext): KernelFactory<'linearGradInput'> =>
  ({ node, inputShapes: [dys] }) => {
    requireGemm(ctx, node.name);
    const { exports, arena } = ctx;
    const { inFeatures: k, outFeatures: m } = node.attrs;
    const rows = sizeOf(dys) / m;
    const weight = node.params.weight;
    const wPtr = arena.alloc(4 * m * k);
    return {
      scratchBytes: exports.f32_gemm_scratch_bytes(rows, k, m),
      pack() {
        arena.f32(wPtr, m * k).set(weight.values);
      },
      run([dy], dx, scratch) {
        exports.f32_gemm(0, 0, rows, k, m, dy, m, wPtr, k, dx, k, 0, scratch);
      },
      dispose() {
        arena.release(wPtr);
      },
    };
  };

/** dW[out, in] = dYᵀ · X over all rows (f32_gemm with transA). */
export const linearGradWeightWasm =
  (ctx: WasmContext): KernelFactory<'linearGradWeight'> =>
  ({ node, inputShapes: [dys] }) => {
    requireGemm(ctx, node.name);
    const { exports } = ctx;
    const { inFeatures: k, outFeatures: m } = node.attrs;
    const rows = sizeOf(dys) / m;
    return {
      scratchBytes: exports.f32_gemm_scratch_bytes(m, k, rows),
      run([dy, x], dw, scratch) {
        exports.f32_gemm(1, 0, m, k, rows, dy, m, x, k, dw, k, 0, scratch);
      },
    };
  };
