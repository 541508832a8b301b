import { shapesEqual, sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import { binaryGeneric } from '../../reference/kernels/tensor-ops.js';
import type { WasmContext } from '../context.js';

/**
 * Broadcasting arithmetic on wasm: equal shapes (residual adds) run the SIMD f32_add / f32_mul
 * kernels; other broadcasts and sub/div run the generic loop over wasm memory. The remaining ONNX
 * tensor ops (concat, transpose, pad, constant, clip, hardSwish, matmul) reuse the generic kernels
 * over wasm memory directly (see index.ts): they are data movement or rare in the models we import.
 */
export const binaryWasm = (ctx: WasmContext): KernelFactory<'binary'> => {
  const generic = binaryGeneric(ctx.arena);
  return (kc) => {
    const { node, inputShapes: [as, bs], outputShape } = kc;
    const n = sizeOf(outputShape);
    const { exports } = ctx;
    if (shapesEqual(as, bs) && (node.attrs.kind === 'add' || node.attrs.kind === 'mul')) {
      const f = node.attrs.kind === 'add' ? exports.f32_add : exports.f32_mul;
      return { scratchBytes: 0, run: ([a, b], y) => f(a, b, y, n) };
    }
    return generic(kc);
  };
};
