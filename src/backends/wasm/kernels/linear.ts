import { sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { activationCode, align16, gemmTile, packTransposedBPanels } from './gemm-glue.js';
import { flags } from '../../../core/flags.js';
import { gemmPanelRanges, local, panelRanges, perThread, runParts, runRanges, threadCount } from './parallel.js';

/**
 * y[rows, out] = x[rows, in] · Wᵀ + b, activation fused: Wᵀ packed once into B panels (pack()), the
 * rows of x packed per call into A panels in scratch, then the packed GEMM with a per-column bias.
 */
export const linearWasm =
  (ctx: WasmContext): KernelFactory<'linear'> =>
  ({ attrs, params, inputShapes: [xs] }) => {
    const { exports, arena } = ctx;
    const { inFeatures: k, outFeatures: n, activation } = attrs;
    const rows = sizeOf(xs) / k;
    const { mr, nr } = gemmTile(ctx);
    const bFloats = exports.f32_gemm_packed_b_floats(n, k);
    const aFloats = exports.f32_gemm_packed_a_floats(rows, k);
    const nPadded = Math.ceil(n / nr) * nr;
    const wPtr = arena.alloc(4 * Math.max(bFloats, 1));
    const biasPtr = arena.alloc(4 * nPadded);
    const weight = params.weight;
    const bias = params.bias;
    const act = activationCode(activation.kind);
    const alpha = activation.alpha;
    const biasMode = bias ? 2 : 0;
    // The weight already lives in wasm memory (the parameter is bound there): the transposing pack
    // (f32_gemm_pack_b with transB, SIMD 4×4 transposes) reads it in place; the TypeScript loop is the
    // fallback and the A/B flag's other side.
    const simdPack = flags.packWeightsInWasm && typeof exports.f32_gemm_pack_b === 'function';
    // Threads share the output's column panels (groups of 4 for one row: the GEMV's streams), cut finer
    // than one range per thread so a slowed thread's panels go to the others; each part uses the edge tile
    // of the thread that runs it (after the packed rows).
    const threads = threadCount(ctx);
    const ranges = gemmPanelRanges(ctx, Math.ceil(n / nr), rows * n * k, rows === 1 ? 4 : 1);
    const tileBytes = perThread(4 * mr * nr);
    // Packing Wᵀ (every training step: fc1's 4M weights) and the rows of x are shared by panels too.
    const wPanels = panelRanges(ctx, n, nr, n * k);
    const xPanels = panelRanges(ctx, rows, mr, rows * k);
    return {
      scratchBytes: 4 * aFloats + 32 + threads * tileBytes,
      pack() {
        if (simdPack) {
          runRanges(ctx, wPanels, (call, c0, c1) =>
            call('f32_gemm_pack_b', weight.ptr + 4 * c0 * k, k, 1, k, c1 - c0, wPtr + 4 * c0 * k),
          );
        } else packTransposedBPanels(arena.f32(wPtr, bFloats), arena.param(weight), n, k, nr);
        const b = arena.f32(biasPtr, nPadded);
        b.fill(0);
        if (bias) b.set(arena.param(bias));
      },
      run([x], y, scratch) {
        const ap = align16(scratch);
        const tiles = ap + 4 * aFloats;
        runRanges(ctx, xPanels, (call, r0, r1) => call('f32_gemm_pack_a', x + 4 * r0 * k, k, 0, r1 - r0, k, ap + 4 * r0 * k));
        runParts(
          ctx,
          ranges.length,
          (part, call) => {
            const [p0, p1] = ranges[part];
            call('f32_gemm_packed_range', rows, n, k, ap, wPtr, y, n, 0, biasPtr, biasMode, act, alpha, local(0), p0, p1);
          },
          { base: tiles, slice: tileBytes },
        );
      },
      dispose() {
        arena.free(wPtr);
        arena.free(biasPtr);
      },
    };
  };
