import { VireoError } from '../../../core/errors.js';
import { sizeOf } from '../../../core/shape.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { flags } from '../../../core/flags.js';
import { gemmPanelRanges, local, panelRanges, perThread, runParts, runRanges, threadCount } from './parallel.js';

function requireGemm(ctx: WasmContext, name: string): void {
  const needed = [
    'f32_gemm',
    'f32_gemm_pack_b',
    'f32_gemm_scratch_bytes',
    'f32_gemm_packed',
    'f32_gemm_pack_a',
    'f32_gemm_packed_a_floats',
    'f32_gemm_packed_b_floats',
    'f32_gemm_mr',
    'f32_gemm_nr',
  ];
  if (needed.some((f) => typeof ctx.exports[f] !== 'function')) {
    throw new VireoError(`layer '${name}': this wasm build has no f32_gemm kernel (assembly/gemm.ts) for the linear backward`);
  }
}

/**
 * dX[rows, in] = dY[rows, out] · W[out, in]: W packed once per weight version into B panels (pack()),
 * dY packed per call into A panels, then the packed GEMM.
 */
export const linearGradInputWasm =
  (ctx: WasmContext): KernelFactory<'linearGradInput'> =>
  ({ name, attrs, params, inputShapes: [dys] }) => {
    requireGemm(ctx, name);
    const { exports, arena } = ctx;
    const { inFeatures: k, outFeatures: m } = attrs;
    const rows = sizeOf(dys) / m;
    const mr = exports.f32_gemm_mr();
    const nr = exports.f32_gemm_nr();
    const aFloats = exports.f32_gemm_packed_a_floats(rows, m);
    const bFloats = exports.f32_gemm_packed_b_floats(k, m);
    const weight = params.weight;
    const packed = arena.alloc(4 * bFloats);
    // A training step changes every weight, so this packs once per step (fc 4096->1024: ~24 ms in a JS
    // loop): f32_gemm_pack_b reads the weight where it lives in wasm memory.
    const inWasm = flags.packWeightsInWasm;
    // Threads share dX's column panels (groups of 4 for one row: the GEMV's streams), several ranges per
    // thread, each part on the edge tile of the thread that runs it.
    const threads = threadCount(ctx);
    const ranges = gemmPanelRanges(ctx, Math.ceil(k / nr), rows * m * k, rows === 1 ? 4 : 1);
    const tileBytes = perThread(4 * mr * nr);
    // The once-per-step pack of W (B: m × k) shared by column panels.
    const wPanels = panelRanges(ctx, k, nr, m * k);
    return {
      scratchBytes: 4 * aFloats + 32 + threads * tileBytes,
      pack() {
        if (inWasm) {
          runRanges(ctx, wPanels, (call, c0, c1) =>
            call('f32_gemm_pack_b', weight.ptr + 4 * c0, k, 0, m, c1 - c0, packed + 4 * c0 * m),
          );
        } else packBPanels(arena.f32(packed, bFloats), arena.param(weight), m, k, nr);
      },
      run([dy], dx, scratch) {
        const ap = (scratch + 15) & ~15;
        const tiles = ap + 4 * aFloats;
        exports.f32_gemm_pack_a(dy, m, 0, rows, m, ap);
        runParts(
          ctx,
          ranges.length,
          (part, call) => call('f32_gemm_packed_range', rows, k, m, ap, packed, dx, k, 0, 0, 0, 0, 0, local(0), ...ranges[part]),
          { base: tiles, slice: tileBytes },
        );
      },
      dispose() {
        arena.free(packed);
      },
    };
  };

/** Packs a row-major k×n matrix into nr-column B panels: panel j, step p, lane l = w[p][j·nr + l] (0 past n). */
function packBPanels(dst: Float32Array, w: Float32Array, k: number, n: number, nr: number): void {
  for (let j0 = 0; j0 < n; j0 += nr) {
    const base = j0 * k;
    for (let p = 0; p < k; p++) {
      const src = p * n + j0;
      for (let l = 0; l < nr; l++) dst[base + p * nr + l] = j0 + l < n ? w[src + l] : 0;
    }
  }
}

/**
 * dW[out, in] = dYᵀ · X over all rows: f32_gemm's steps spelled out so threads can share them — dYᵀ packed
 * into A panels once, then each thread packs its own column panels of X and multiplies them (the same
 * packing, K blocking and kernels as f32_gemm, so the same bits for any thread count).
 */
export const linearGradWeightWasm =
  (ctx: WasmContext): KernelFactory<'linearGradWeight'> =>
  ({ name, attrs, inputShapes: [dys] }) => {
    requireGemm(ctx, name);
    const { exports } = ctx;
    const { inFeatures: k, outFeatures: m } = attrs;
    const rows = sizeOf(dys) / m;
    const mr = exports.f32_gemm_mr();
    const nr = exports.f32_gemm_nr();
    const aFloats = exports.f32_gemm_packed_a_floats(m, rows);
    const bFloats = exports.f32_gemm_packed_b_floats(k, rows);
    const threads = threadCount(ctx);
    const ranges = gemmPanelRanges(ctx, Math.ceil(k / nr), rows * m * k, m === 1 ? 4 : 1);
    const tileBytes = perThread(4 * mr * nr);
    return {
      scratchBytes: rows > 0 ? 4 * (aFloats + bFloats) + 64 + threads * tileBytes : 0,
      run([dy, x], dw, scratch) {
        if (rows <= 0) {
          exports.f32_gemm(1, 0, m, k, rows, dy, m, x, k, dw, k, 0, scratch);
          return;
        }
        const ap = (scratch + 15) & ~15;
        const bp = ap + 4 * aFloats;
        const tiles = perThreadStart(bp + 4 * bFloats);
        exports.f32_gemm_pack_a(dy, m, 1, m, rows, ap);
        runParts(
          ctx,
          ranges.length,
          (part, call) => {
            const [p0, p1] = ranges[part];
            const c0 = p0 * nr;
            const c1 = Math.min(k, p1 * nr);
            call('f32_gemm_pack_b', x + 4 * c0, k, 0, rows, c1 - c0, bp + 4 * c0 * rows);
            call('f32_gemm_packed_range', m, k, rows, ap, bp, dw, k, 0, 0, 0, 0, 0, local(0), p0, p1);
          },
          { base: tiles, slice: tileBytes },
        );
      },
    };
  };

const perThreadStart = (p: number): number => (p + 15) & ~15;
