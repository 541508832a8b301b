import { sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';

/** Layer normalization and its gradients on wasm (assembly/layer_norm.ts). */
export const layerNormWasm =
  ({ exports }: WasmContext): KernelFactory<'layerNorm'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const cols = sizeOf(attrs.normalizedShape);
    const rows = sizeOf(xs) / cols;
    const affine = attrs.affine ? 1 : 0;
    return {
      scratchBytes: 0,
      run: ([x], y) =>
        exports.f32_layer_norm(x, y, affine ? params.weight.ptr : 0, affine ? params.bias.ptr : 0, rows, cols, attrs.eps, affine),
    };
  };

export const layerNormGradInputWasm =
  ({ exports }: WasmContext): KernelFactory<'layerNormGradInput'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const cols = sizeOf(attrs.normalizedShape);
    const rows = sizeOf(xs) / cols;
    const affine = attrs.affine ? 1 : 0;
    return {
      scratchBytes: 0,
      run: ([dy, x], dx) =>
        exports.f32_layer_norm_grad_input(dy, x, dx, affine ? params.weight.ptr : 0, rows, cols, attrs.eps, affine),
    };
  };

export const layerNormGradWeightWasm =
  ({ exports }: WasmContext): KernelFactory<'layerNormGradWeight'> =>
  ({ attrs, inputShapes: [xs] }) => {
    const cols = sizeOf(attrs.normalizedShape);
    const rows = sizeOf(xs) / cols;
    return {
      scratchBytes: 8 * cols,
      run: ([dy, x], dw, scratch) => exports.f32_layer_norm_grad_weight(dy, x, dw, rows, cols, attrs.eps, scratch),
    };
  };
