import { sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';

export const activationWasm =
  ({ exports }: WasmContext): KernelFactory<'activation'> =>
  ({ node, outputShape }) => {
    const n = sizeOf(outputShape);
    if (node.attrs.kind !== 'relu') throw new Error(`activation ${node.attrs.kind}: not yet on wasm`);
    return {
      scratchBytes: 0,
      run([x], y) {
        exports.f32_relu(x, y, n);
      },
    };
  };
