import { VireoError } from '../../../core/errors.js';
import { flags } from '../../../core/flags.js';
import type { Conv2dAttrs } from '../../../ops/types.js';
import type { KernelFactory, PreparedKernel } from '../../backend.js';
import type { WasmContext } from '../context.js';
import type { KernelExports } from '../loader.js';
import {
  imageRanges,
  local,
  panelRanges,
  perThread,
  planeRanges,
  runParts,
  runRanges,
  splitRange,
  threadCount,
} from './parallel.js';

/**
 * Convolution backward on wasm. Depthwise (one input channel per group): direct kernels. Otherwise,
 * per image and group, with col = im2col(X) laid out [K = cin/g·kh·kw][P = oh·ow]:
 *   dW_g += dY_g · colᵀ          (f32_gemm, transB; accumulated over the batch)
 *   dX_g  = col2im(W_gᵀ · dY_g)  (f32_gemm, transA; then the SIMD col2im)
 * A 1×1, stride-1, unpadded convolution skips im2col/col2im (col is X itself).
 */
interface ConvGeometry {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  cinG: number;
  coutG: number;
  k: number;
  p: number;
  depthwise: boolean;
  pointwise: boolean;
}

function geometry(a: Conv2dAttrs, xs: readonly number[], dys: readonly number[]): ConvGeometry {
  const [n, cin, h, w] = xs;
  const [, cout, oh, ow] = dys;
  const cinG = cin / a.groups;
  const coutG = cout / a.groups;
  const pointwise =
    a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 && a.stride[1] === 1 && a.padding.every((v) => v === 0);
  return {
    n,
    cin,
    cout,
    h,
    w,
    oh,
    ow,
    cinG,
    coutG,
    k: cinG * a.kernel[0] * a.kernel[1],
    p: oh * ow,
    depthwise: cinG === 1 && a.groups > 1,
    pointwise,
  };
}

function requireGemm(exports: KernelExports, name: string): void {
  if (typeof exports.f32_gemm !== 'function' || typeof exports.f32_gemm_scratch_bytes !== 'function') {
    throw new VireoError(
      `layer '${name}': this wasm build has no f32_gemm kernel (assembly/gemm.ts) for the convolution backward`,
    );
  }
}

function requirePackedGemm(exports: KernelExports, name: string): void {
  requireGemm(exports, name);
  for (const f of [
    'f32_gemm_packed',
    'f32_gemm_pack_b',
    'f32_gemm_packed_a_floats',
    'f32_gemm_packed_b_floats',
    'f32_gemm_mr',
    'f32_gemm_nr',
  ]) {
    if (typeof exports[f] !== 'function') throw new VireoError(`layer '${name}': this wasm build has no ${f} (assembly/gemm.ts)`);
  }
}

/**
 * Packs the transpose of rows [row0, row0 + k) of w (row stride ld, the first m columns) into mr-row A
 * panels: panel i, step p, lane r = w[row0 + p][i·mr + r] (0 past m). For dX, A = W_gᵀ.
 */
export function packTransposedAPanels(
  dst: Float32Array,
  w: Float32Array,
  ld: number,
  row0: number,
  k: number,
  m: number,
  mr: number,
): void {
  let d = 0;
  for (let i0 = 0; i0 < m; i0 += mr) {
    for (let p = 0; p < k; p++) {
      const src = (row0 + p) * ld + i0;
      for (let r = 0; r < mr; r++) dst[d++] = i0 + r < m ? w[src + r] : 0;
    }
  }
}

const align16 = (p: number): number => (p + 15) & ~15;

const convArgs = (a: Conv2dAttrs) =>
  [a.kernel[0], a.kernel[1], a.stride[0], a.stride[1], a.padding[0], a.padding[1], a.dilation[0], a.dilation[1]] as const;

export const conv2dGradInputWasm =
  (ctx: WasmContext): KernelFactory<'conv2dGradInput'> =>
  ({ name, attrs, params, inputShapes: [dys], outputShape: xs }) => {
    const { exports, arena } = ctx;
    const a = attrs;
    const g = geometry(a, xs, dys);
    const weight = params.weight;
    if (g.depthwise) {
      // The direct kernel reads the weight where it lives in wasm memory; threads take whole images,
      // several parts per thread.
      const images = imageRanges(ctx, g.n, g.cout * g.p * a.kernel[0] * a.kernel[1]);
      return {
        scratchBytes: 0,
        run([dy], dx) {
          runParts(ctx, images.length, (t, call) => {
            const [b0, b1] = images[t];
            const dyb = dy + 4 * b0 * g.cout * g.p;
            const dxb = dx + 4 * b0 * g.cin * g.h * g.w;
            call(
              'f32_dwconv2d_grad_input_nchw',
              dyb,
              weight.ptr,
              dxb,
              b1 - b0,
              g.cin,
              g.coutG,
              g.h,
              g.w,
              g.oh,
              g.ow,
              ...convArgs(a),
            );
          });
        },
      };
    }
    requirePackedGemm(exports, name);
    // W_gᵀ packed once per weight version into A panels (M = K rows, inner dimension coutG); per image
    // and group dY_g is packed into B panels and col = W_gᵀ · dY_g goes through the packed GEMM.
    const mr = exports.f32_gemm_mr();
    const nr = exports.f32_gemm_nr();
    const aFloats = exports.f32_gemm_packed_a_floats(g.k, g.coutG);
    const bFloats = exports.f32_gemm_packed_b_floats(g.p, g.coutG);
    const packed = arena.alloc(4 * a.groups * aFloats);
    const colBytes = g.pointwise ? 0 : 4 * g.k * g.p;
    // Packed in wasm from where the weight lives (f32_gemm_pack_a, transposed): a training step changes
    // the weight, so this runs once per step.
    const inWasm = flags.packWeightsInWasm && typeof exports.f32_gemm_pack_a === 'function';
    // Threads take whole images, several parts per thread so a slowed thread's images go to the others;
    // each image uses the col, B panels and tile in the scratch slice of the thread that runs it.
    const bAt = align16(align(colBytes));
    const tileAt = bAt + 4 * bFloats;
    const slice = perThread(tileAt + 4 * mr * nr + 32);
    const threads = threadCount(ctx);
    const ranges = imageRanges(ctx, g.n, g.cout * g.k * g.p);
    // The pack shared by A-panel rows (rows of W_gᵀ: columns of the stored W_g) of every group.
    const wRows = panelRanges(ctx, g.k, mr, g.cout * g.k);
    return {
      scratchBytes: threads * slice + 16,
      pack() {
        if (inWasm) {
          runRanges(ctx, wRows, (call, r0, r1) => {
            for (let grp = 0; grp < a.groups; grp++) {
              // A = W_gᵀ (M = K rows, inner dimension coutG), stored as W_g [coutG][K]: transA with lda = K.
              const src = weight.ptr + 4 * (grp * g.coutG * g.k + r0);
              call('f32_gemm_pack_a', src, g.k, 1, r1 - r0, g.coutG, packed + 4 * (grp * aFloats + r0 * g.coutG));
            }
          });
          return;
        }
        const dst = arena.f32(packed, a.groups * aFloats);
        for (let grp = 0; grp < a.groups; grp++) {
          packTransposedAPanels(
            dst.subarray(grp * aFloats, (grp + 1) * aFloats),
            arena.param(weight),
            g.k,
            grp * g.coutG,
            g.coutG,
            g.k,
            mr,
          );
        }
      },
      run([dy], dx, scratch) {
        const col = local(0);
        const bp = local(bAt);
        const tile = local(tileAt);
        runParts(
          ctx,
          ranges.length,
          (part, call) => {
            for (let b = ranges[part][0]; b < ranges[part][1]; b++) {
              for (let grp = 0; grp < a.groups; grp++) {
                const dyG = dy + 4 * ((b * g.cout + grp * g.coutG) * g.p);
                const dxG = dx + 4 * ((b * g.cin + grp * g.cinG) * g.h * g.w);
                call('f32_gemm_pack_b', dyG, g.p, 0, g.coutG, g.p, bp);
                const target = g.pointwise ? dxG : col;
                call('f32_gemm_packed', g.k, g.p, g.coutG, packed + 4 * grp * aFloats, bp, target, g.p, 0, 0, 0, 0, 0, tile);
                if (!g.pointwise) call('f32_col2im_nchw_kxp', col, dxG, g.cinG, g.h, g.w, ...convArgs(a), g.oh, g.ow);
              }
            }
          },
          { base: align16(scratch), slice },
        );
      },
      dispose() {
        arena.free(packed);
      },
    };
  };

export const conv2dGradWeightWasm =
  (ctx: WasmContext): KernelFactory<'conv2dGradWeight'> =>
  ({ name, attrs, inputShapes: [dys, xs] }) => {
    const { exports } = ctx;
    const a = attrs;
    const g = geometry(a, xs, dys);
    if (g.depthwise) {
      const m = g.coutG;
      // Threads take output-channel ranges: each channel's sum over the batch runs in the one-call order.
      const channels = planeRanges(ctx, g.cout, 2 * g.n * g.p);
      return {
        scratchBytes: 0,
        run([dy, x], dw) {
          runRanges(ctx, channels, (call, c0, c1) =>
            call('f32_dwconv2d_grad_weight_nchw', dy, x, dw, g.n, g.cin, m, g.h, g.w, g.oh, g.ow, ...convArgs(a), c0, c1),
          );
        },
      };
    }
    requireGemm(exports, name);
    if (
      flags.convGradWeightPanels &&
      typeof exports.f32_im2col_nchw_bt_panels === 'function' &&
      typeof exports.f32_gemm_pack_a === 'function' &&
      typeof exports.f32_gemm_packed === 'function'
    ) {
      // Per image and group: im2col written straight into the GEMM's B panels (colᵀ, one column per tap),
      // dY_g packed into A panels, then the packed GEMM accumulating into dW_g: no col matrix and no
      // transposing pack. Reference CNN, batch 32: see the commit message for the measurement.
      const mr = exports.f32_gemm_mr();
      const nr = exports.f32_gemm_nr();
      const aFloats = exports.f32_gemm_packed_a_floats(g.coutG, g.p);
      const bFloats = exports.f32_gemm_packed_b_floats(g.k, g.p);
      const tmpFloats = exports.f32_im2col_bt_panels_tmp_floats(g.oh, g.ow);
      // Threads: images in chunks; first each thread prepares images of the chunk (B = colᵀ panels by
      // im2col, A = dY_g panels) into slots, then each thread accumulates its own column panels of dW_g
      // over the chunk's images in batch order. Each dW value is summed in the same order as on one
      // thread — no per-thread partial sums to reduce, so the bits do not depend on the thread count.
      const threads = threadCount(ctx);
      const tapPanels = splitRange(Math.ceil(g.k / nr), threads, g.coutG === 1 ? 4 : 1);
      if (
        threads > 1 &&
        tapPanels.length > 1 &&
        g.k >= flags.convGradWeightOwnPanelsMinK &&
        typeof exports.f32_im2col_nchw_bt_panels_range === 'function'
      ) {
        return ownSliceGradWeight(
          ctx,
          a,
          g,
          tapPanels.map((panels) => ({ rows: [0, g.coutG], panels })),
        );
      }
      // Whole MR-row panels: a row's multiply-adds start from dW where its panel is full and from zero in a
      // partial (edge) panel, so each row must sit in the panel it has on one thread.
      const rowRanges = splitRange(g.coutG, threads, exports.f32_gemm_mr());
      if (
        threads > 1 &&
        rowRanges.length === threads &&
        g.coutG >= threads * flags.convGradWeightOwnRowsMin &&
        typeof exports.f32_im2col_nchw_bt_panels_range === 'function'
      ) {
        const allPanels: [number, number] = [0, Math.ceil(g.k / nr)];
        return ownSliceGradWeight(
          ctx,
          a,
          g,
          rowRanges.map((rows) => ({ rows, panels: allPanels })),
        );
      }
      const slot = perThread(4 * (aFloats + bFloats) + 32);
      // As many images per chunk as fit CHUNK_BYTES (at least one per thread): two barriers per chunk, and
      // on a busy device each barrier can cost a time slice, so the whole batch is one chunk where it fits.
      const chunk = threads === 1 ? 1 : Math.min(g.n, Math.max(threads, Math.floor(CHUNK_BYTES / slot)));
      const tileBytes = perThread(4 * (tmpFloats + mr * nr) + 32);
      return {
        scratchBytes: chunk * slot + threads * tileBytes + 16,
        run([dy, x], dw, scratch) {
          const s0 = align16(scratch);
          const ap = (i: number) => s0 + i * slot;
          const bp = (i: number) => ap(i) + 4 * aFloats;
          const tmp = (t: number) => s0 + chunk * slot + t * tileBytes;
          const tile = (t: number) => tmp(t) + 4 * tmpFloats;
          for (let b0 = 0; b0 < g.n; b0 += chunk) {
            const count = Math.min(chunk, g.n - b0);
            for (let grp = 0; grp < a.groups; grp++) {
              const images = splitRange(count, threads);
              runParts(ctx, images.length, (t, call) => {
                for (let i = images[t][0]; i < images[t][1]; i++) {
                  const b = b0 + i;
                  const dyG = dy + 4 * ((b * g.cout + grp * g.coutG) * g.p);
                  const xG = x + 4 * ((b * g.cin + grp * g.cinG) * g.h * g.w);
                  call('f32_im2col_nchw_bt_panels', xG, bp(i), g.cinG, g.h, g.w, ...convArgs(a), g.oh, g.ow, tmp(t));
                  call('f32_gemm_pack_a', dyG, g.p, 0, g.coutG, g.p, ap(i));
                }
              });
              const dwG = dw + 4 * grp * g.coutG * g.k;
              runParts(ctx, tapPanels.length, (t, call) => {
                const [p0, p1] = tapPanels[t];
                for (let i = 0; i < count; i++) {
                  const acc = b0 + i > 0 ? 1 : 0;
                  call('f32_gemm_packed_range', g.coutG, g.k, g.p, ap(i), bp(i), dwG, g.k, acc, 0, 0, 0, 0, tile(t), p0, p1);
                }
              });
            }
          }
        },
      };
    }
    const colBytes = g.pointwise ? 0 : 4 * g.k * g.p;
    const gemmScratch = exports.f32_gemm_scratch_bytes(g.coutG, g.k, g.p);
    return {
      scratchBytes: align(colBytes) + gemmScratch,
      run([dy, x], dw, scratch) {
        const colPtr = scratch;
        const gemmPtr = colPtr + align(colBytes);
        for (let b = 0; b < g.n; b++) {
          for (let grp = 0; grp < a.groups; grp++) {
            const dyG = dy + 4 * ((b * g.cout + grp * g.coutG) * g.p);
            const xG = x + 4 * ((b * g.cin + grp * g.cinG) * g.h * g.w);
            if (!g.pointwise) exports.f32_im2col_nchw_kxp(xG, colPtr, g.cinG, g.h, g.w, ...convArgs(a), g.oh, g.ow);
            const col = g.pointwise ? xG : colPtr;
            exports.f32_gemm(
              0,
              1,
              g.coutG,
              g.k,
              g.p,
              dyG,
              g.p,
              col,
              g.p,
              dw + 4 * grp * g.coutG * g.k,
              g.k,
              b > 0 ? 1 : 0,
              gemmPtr,
            );
          }
        }
      },
    };
  };

const align = (n: number) => Math.ceil(n / 64) * 64;

/** One thread's share of dW_g in the barrier-free schemes: rows [r0, r1) × column (tap) panels [q0, q1). */
interface GradWeightSlice {
  rows: [number, number];
  panels: [number, number];
}

/**
 * The threaded weight gradient without barriers or shared image buffers: each thread owns a slice of dW_g
 * and, image after image in batch order, packs its rows of dY_g into its own A panels, writes its column
 * panels of colᵀ into its own B panels (f32_im2col_nchw_bt_panels_range) and accumulates its slice of dW_g —
 * everything stays in its cache, as on one thread. Two ways to cut dW:
 * - by column panels (every row): at K ≥ flags.convGradWeightOwnPanelsMinK, where each thread's repeated
 *   pack of all of dY is small beside its GEMM;
 * - by rows (every column panel) for a short K (a first convolution's 3·3·3 taps), where each thread's
 *   repeated im2col (K·P floats an image) is small beside its rows of dY and their GEMM. Rows are cut at whole
 *   MR-row panels, so each sits in the panel it has on one thread (a full panel's multiply-adds start from
 *   dW, an edge panel's from zero).
 * Either way each dW value is summed over the images in the one-thread order with the same kernels, so the
 * bits do not depend on the thread count.
 */
function ownSliceGradWeight(ctx: WasmContext, a: Conv2dAttrs, g: ConvGeometry, slices: GradWeightSlice[]): PreparedKernel {
  const { exports } = ctx;
  const mr = exports.f32_gemm_mr();
  const nr = exports.f32_gemm_nr();
  const rowsMax = Math.max(...slices.map(({ rows: [r0, r1] }) => r1 - r0));
  const aFloats = exports.f32_gemm_packed_a_floats(rowsMax, g.p);
  const bFloats = exports.f32_gemm_packed_b_floats(g.k, g.p);
  const tmpFloats = exports.f32_im2col_bt_panels_tmp_floats(g.oh, g.ow);
  // A thread's slice: its A panels, a whole-layout B (only its panels written), im2col's tmp, an edge tile.
  const bytes = perThread(4 * (aFloats + bFloats + tmpFloats + mr * nr) + 64);
  return {
    scratchBytes: slices.length * bytes + 16,
    run([dy, x], dw, scratch) {
      const s0 = align16(scratch);
      runParts(ctx, slices.length, (t, call) => {
        const [r0, r1] = slices[t].rows;
        const [q0, q1] = slices[t].panels;
        const ap = s0 + t * bytes;
        const bp = align16(ap + 4 * aFloats);
        const tmp = align16(bp + 4 * bFloats);
        const tile = align16(tmp + 4 * tmpFloats);
        for (let b = 0; b < g.n; b++) {
          for (let grp = 0; grp < a.groups; grp++) {
            const dyRows = dy + 4 * ((b * g.cout + grp * g.coutG + r0) * g.p);
            const xG = x + 4 * ((b * g.cin + grp * g.cinG) * g.h * g.w);
            const dwRows = dw + 4 * (grp * g.coutG + r0) * g.k;
            call('f32_gemm_pack_a', dyRows, g.p, 0, r1 - r0, g.p, ap);
            call('f32_im2col_nchw_bt_panels_range', xG, bp, g.cinG, g.h, g.w, ...convArgs(a), g.oh, g.ow, tmp, q0, q1);
            call('f32_gemm_packed_range', r1 - r0, g.k, g.p, ap, bp, dwRows, g.k, b > 0 ? 1 : 0, 0, 0, 0, 0, tile, q0, q1);
          }
        }
      });
    },
  };
}

/** Scratch for the prepared images of one threaded weight-gradient chunk (the reference CNN's conv2 at batch 32: 23 MB). */
const CHUNK_BYTES = 32 << 20;
