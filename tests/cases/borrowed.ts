import type { OpCase } from '../helpers/single-op.js';

/**
 * Ops the wasm backend runs with the reference backend's own code (src/backends/wasm/index.ts imports
 * them from reference/kernels/tensor-ops.ts): a wasm-vs-reference comparison of these compares the code
 * with itself and can only fail by crashing. tests/tensor-ops-torch.test.ts checks them against PyTorch
 * on every backend instead. Remove an op here when it gets a wasm kernel of its own.
 */
const borrowedOps = new Set<string>(['constant', 'concat', 'transpose', 'pad', 'matmul', 'unaryGrad']);

/**
 * binary broadcasts that wasm hands to the reference's generic loop: anything but equal shapes or one
 * full operand with a per-channel/per-row/scalar other (src/backends/wasm/kernels/tensor-ops.ts).
 */
const borrowedBinary = new Set(['binary sub [3,1] by [1,4] (outer)', 'binary add [2,6,1,5] by [6,3,1] (both broadcast)']);

export function borrowsReferenceCode(c: OpCase): boolean {
  return borrowedOps.has(c.op) || borrowedBinary.has(c.name);
}
