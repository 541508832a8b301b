import { sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { activationCode, align16, gemmTile, packTransposedBPanels } from './gemm-glue.js';
import { acquireStagedWeight } from './weight-staging.js';

/**
 * y[rows, out] = x[rows, in] · Wᵀ + b, activation fused: Wᵀ packed once into B panels (pack()), the
 * rows of x packed per call into A panels in scratch, then the packed GEMM with a per-column bias.
 */
export const linearWasm =
  (ctx: WasmContext): KernelFactory<'linear'> =>
  ({ node, inputShapes: [xs] }) => {
    const { exports, arena } = ctx;
    const { inFeatures: k, outFeatures: n, activation } = node.attrs;
    const rows = sizeOf(xs) / k;
    const { mr, nr } = gemmTile(ctx);
    const bFloats = exports.f32_gemm_packed_b_floats(n, k);
    const aFloats = exports.f32_gemm_packed_a_floats(rows, k);
    const nPadded = Math.ceil(n / nr) * nr;
    const wPtr = arena.alloc(4 * Math.max(bFloats, 1));
    const biasPtr = arena.alloc(4 * nPadded);
    const weight = node.params.weight;
    const bias = node.params.bias;
    const act = activationCode(activation.kind);
    const alpha = activation.alpha;
    const biasMode = bias ? 2 : 0;
    // First pack: the TypeScript loop. From the second on (the weight changes: training, where an update
    // repacks every step) the weight is copied into a staging buffer in wasm memory and packed there by
    // f32_pack_b_transposed (SIMD transposes; assembly/col2im.ts); inference never pays for the staging buffer.
    // The staging copy is shared with the layer's input-gradient kernel (weight-staging.ts).
    let packs = 0;
    let staging: ReturnType<typeof acquireStagedWeight> | null = null;
    return {
      scratchBytes: 4 * (aFloats + mr * nr) + 32,
      pack() {
        if (++packs === 2 && typeof exports.f32_pack_b_transposed === 'function') staging = acquireStagedWeight(ctx, weight);
        if (staging) exports.f32_pack_b_transposed(staging.ptr(), k, k, n, wPtr);
        else packTransposedBPanels(arena.f32(wPtr, bFloats), weight.values, n, k, nr);
        const b = arena.f32(biasPtr, nPadded);
        b.fill(0);
        if (bias) b.set(bias.values);
      },
      run([x], y, scratch) {
        const ap = align16(scratch);
        const tile = ap + 4 * aFloats;
        exports.f32_gemm_pack_a(x, k, 0, rows, k, ap);
        exports.f32_gemm_packed(rows, n, k, ap, wPtr, y, n, 0, biasPtr, biasMode, act, alpha, tile);
      },
      dispose() {
        arena.release(wPtr);
        arena.release(biasPtr);
        staging?.release();
      },
    };
  };
