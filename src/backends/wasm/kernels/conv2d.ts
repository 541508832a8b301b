import { flags } from '../../../core/flags.js';
import type { KernelFactory } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { activationCode, align16, gemmTile, packAPanels } from './gemm-glue.js';
import type { CallArg } from '../threads.js';
import {
  gemmPanelRanges,
  imageRanges,
  type Invoke,
  local,
  panelRanges,
  perThread,
  runParts,
  runRanges,
  threadCount,
} from './parallel.js';

/**
 * Forward convolution, NCHW.
 * - Depthwise (groups = inChannels, any channel multiplier): the direct kernel f32_dwconv2d_nchw.
 * - Otherwise per image and group: Y_g[coutG, oh·ow] = W_g[coutG, cinG·kh·kw] · col_g, with W_g packed
 *   once into A panels (pack()) and col_g written by im2col straight into B panels in scratch; a 1×1,
 *   stride-1, unpadded convolution packs the input itself (it already is the B matrix). Bias (per row)
 *   and the activation run in the GEMM epilogue.
 */
export const conv2dWasm =
  (ctx: WasmContext): KernelFactory<'conv2d'> =>
  ({ attrs, params, inputShapes: [xs], outputShape: ys }) => {
    const { exports, arena } = ctx;
    const a = attrs;
    const [n, cin, h, w] = xs;
    const [, cout, oh, ow] = ys;
    const [kh, kw] = a.kernel;
    const [sh, sw] = a.stride;
    const [dh, dw] = a.dilation;
    const [pt, pl, pb, pr] = a.padding;
    const groups = a.groups;
    const cinG = cin / groups;
    const coutG = cout / groups;
    const act = activationCode(a.activation.kind);
    const alpha = a.activation.alpha;
    const weight = params.weight;
    const bias = params.bias;
    const biasPtr = arena.alloc(4 * cout + 32);
    const packBias = () => {
      const b = arena.f32(biasPtr, cout);
      if (bias) b.set(arena.param(bias));
      else b.fill(0);
    };

    if (groups === cin && cinG === 1) {
      // The direct kernel reads the weight where it lives in wasm memory ([cout][1][kh][kw] is its layout).
      const mult = coutG;
      const planeFloats = exports.f32_dwconv2d_scratch_floats(kh, kw, oh, ow, sh, sw, dh, dw);
      // Threads take whole images, several parts per thread (each output plane is computed the same way
      // whichever call holds it), each part on the plane scratch of the thread that runs it.
      const ranges = imageRanges(ctx, n, cout * oh * ow * kh * kw);
      const slice = planeFloats > 0 ? perThread(4 * planeFloats + 32) : 0;
      return {
        scratchBytes: threadCount(ctx) * slice + 16,
        pack() {
          packBias();
        },
        run([x], y, scratch) {
          runParts(
            ctx,
            ranges.length,
            (part, call) => {
              const [b0, b1] = ranges[part];
              const xb = x + 4 * b0 * cin * h * w;
              const yb = y + 4 * b0 * cout * oh * ow;
              call(
                'f32_dwconv2d_nchw',
                xb,
                weight.ptr,
                biasPtr,
                yb,
                b1 - b0,
                cin,
                mult,
                h,
                w,
                oh,
                ow,
                kh,
                kw,
                sh,
                sw,
                pt,
                pl,
                dh,
                dw,
                act,
                alpha,
                local(0),
              );
            },
            { base: align16(scratch), slice },
          );
        },
        dispose() {
          arena.free(biasPtr);
        },
      };
    }

    const { mr, nr } = gemmTile(ctx);
    const kg = cinG * kh * kw;
    const p = oh * ow;
    const aFloats = exports.f32_gemm_packed_a_floats(coutG, kg);
    const bFloats = exports.f32_gemm_packed_b_floats(p, kg);
    const wPtr = arena.alloc(4 * groups * aFloats);
    const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && pb === 0 && pr === 0;
    const biasMode = bias ? 1 : 0;
    const inWasm = flags.packWeightsInWasm && typeof exports.f32_gemm_pack_a === 'function';
    const tmpFloats = exports.f32_im2col_panels_tmp_floats(kh, kw, sh, sw, dh, dw, oh, ow);
    // Threads: parts of whole images when there are at least as many images as threads, otherwise per image
    // parts of its output panels. Either way each output value is computed as one thread would.
    const threads = threadCount(ctx);
    const nPanels = Math.ceil(p / nr);
    // A thread's scratch slice: every group's B panels of one image, a GEMM edge tile, im2col's tmp. The
    // calls address them relative to the slice (`Place`): with whole images per part, the slice is that of
    // whichever thread claims the part.
    const slice = perThread(4 * (groups * bFloats + mr * nr + tmpFloats) + 32);
    const tileAt = 4 * groups * bFloats;
    const tmpAt = tileAt + 4 * mr * nr;
    type Place = (offset: number) => CallArg;
    const image = (call: Invoke, y: number, b: number, panels: Place, tile: CallArg, p0: number, p1: number) => {
      for (let g = 0; g < groups; g++) {
        const yg = y + 4 * (b * cout + g * coutG) * p;
        call(
          'f32_gemm_packed_range',
          coutG,
          p,
          kg,
          wPtr + 4 * g * aFloats,
          panels(4 * g * bFloats),
          yg,
          p,
          0,
          biasPtr + 4 * g * coutG,
          biasMode,
          act,
          alpha,
          tile,
          p0,
          p1,
        );
      }
    };
    // B panels [j0, j1) of image b: im2col of those output positions (through the running thread's tmp), or
    // for a 1×1 convolution the pack of those columns of X (it already is the B matrix).
    const im2col = (call: Invoke, x: number, b: number, at: Place, j0: number, j1: number) => {
      for (let g = 0; g < groups; g++) {
        const xg = x + 4 * (b * cin + g * cinG) * h * w;
        if (pointwise) {
          const c0 = j0 * nr;
          call('f32_gemm_pack_b', xg + 4 * c0, p, 0, kg, Math.min(p, j1 * nr) - c0, at(4 * (g * bFloats + c0 * kg)));
        } else {
          const geometry = [cinG, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow];
          call('f32_im2col_nchw_panels_range', xg, at(4 * g * bFloats), ...geometry, local(tmpAt), j0, j1);
        }
      }
    };
    // Whole images per part when there are at least as many images as threads, cut finer than one part per
    // thread (stealingParts) so a slowed thread's unstarted images go to the others; each image is
    // computed the same way whichever thread runs it.
    const images = n >= threads ? imageRanges(ctx, n, cout * kg * p) : [];
    // Fewer images than threads: output panels cut for stealing (groups of 4 for a one-row GEMV).
    const panelParts = n < threads ? gemmPanelRanges(ctx, nPanels, groups * coutG * kg * p, coutG === 1 ? 4 : 1) : [];
    // Packing W (every training step) shared by A-panel rows of every group.
    const wRows = panelRanges(ctx, coutG, mr, cout * kg);
    return {
      scratchBytes: threads * slice,
      pack() {
        // W_g [coutG][kg] row-major, packed from where it lives in wasm memory (training repacks every step).
        if (inWasm) {
          runRanges(ctx, wRows, (call, r0, r1) => {
            for (let g = 0; g < groups; g++) {
              const src = weight.ptr + 4 * (g * coutG + r0) * kg;
              call('f32_gemm_pack_a', src, kg, 0, r1 - r0, kg, wPtr + 4 * (g * aFloats + r0 * kg));
            }
          });
        } else {
          const dst = arena.f32(wPtr, groups * aFloats);
          for (let g = 0; g < groups; g++) {
            packAPanels(dst.subarray(g * aFloats, (g + 1) * aFloats), arena.param(weight), kg, g * coutG, coutG, kg, mr);
          }
        }
        packBias();
      },
      run([x], y, scratch) {
        const s0 = align16(scratch);
        if (images.length > 0) {
          runParts(
            ctx,
            images.length,
            (part, call) => {
              for (let b = images[part][0]; b < images[part][1]; b++) {
                im2col(call, x, b, local, 0, nPanels);
                image(call, y, b, local, local(tileAt), 0, nPanels);
              }
            },
            { base: s0, slice },
          );
          return;
        }
        // Fewer images than threads: per image, each part writes the B panels of its own output positions
        // (im2col of those positions; for a 1×1 convolution the pack of those columns of X) into the one
        // image-wide layout, then multiplies them: one round an image, and no thread reads panels another
        // wrote. The im2col tmp and the GEMM edge tile are the running thread's.
        for (let b = 0; b < n; b++) {
          runParts(
            ctx,
            panelParts.length,
            (part, call) => {
              const [j0, j1] = panelParts[part];
              const shared: Place = (offset) => s0 + offset;
              im2col(call, x, b, shared, j0, j1);
              image(call, y, b, shared, local(tileAt), j0, j1);
            },
            { base: s0, slice },
          );
        }
      },
      dispose() {
        arena.free(wPtr);
        arena.free(biasPtr);
      },
    };
  };
