// im2col / col2im for the convolution backward pass, NCHW, one image and one group at a time.
// Layout "kxp": col is [K = c·kh·kw rows][P = oh·ow columns], row (ci, ky, kx), so the weight gradient is
// dW = dY · colᵀ and the input gradient is col2im(Wᵀ · dY), both through f32_gemm.
// For each kernel tap the valid output columns form one contiguous range [lo, hi) (computed once per
// tap), so the inner loops have no bounds checks; with stride 1 they are contiguous SIMD copies/adds.

import { GEMM_NR } from './gemm_tile';
import { highOut, lowOut } from './out_range';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** col[(ci·kh + ky)·kw + kx][oy·ow + ox] = x[ci][oy·sh − pt + ky·dh][ox·sw − pl + kx·dw] (0 outside). */
export function f32_im2col_nchw_kxp(
  x: usize, col: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
): void {
  const p = oh * ow;
  for (let ci = 0; ci < c; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        im2colTap(x, at(col, ((ci * kh + ky) * kw + kx) * p), ci, ky, kx, h, w, sh, sw, pt, pl, dh, dw, oh, ow);
      }
    }
  }
}

/** Floats of scratch f32_im2col_nchw_bt_panels needs besides its output: GEMM_NR rows of oh·ow. */
export function f32_im2col_bt_panels_tmp_floats(oh: i32, ow: i32): i32 {
  return GEMM_NR * oh * ow;
}

/**
 * colᵀ packed as the B operand of the weight gradient dW = dY · colᵀ (K = P = oh·ow, N = c·kh·kw columns, one
 * per tap), written straight into GEMM_NR-column panels (f32_gemm_pack_b's layout for transB): per group of
 * GEMM_NR taps, their im2col rows go to tmp [GEMM_NR][P], then 4×4 SIMD transposes store them as the panel
 * [P][GEMM_NR] (taps past N are 0). Replaces im2col + the transposing pack of f32_gemm.
 */
export function f32_im2col_nchw_bt_panels(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize,
): void {
  const panels = (c * kh * kw + GEMM_NR - 1) / GEMM_NR;
  f32_im2col_nchw_bt_panels_range(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, 0, panels);
}

/**
 * f32_im2col_nchw_bt_panels for panels [q0, q1) only (columns q0·GEMM_NR … of colᵀ, at their places in the
 * full layout): a thread that owns those column panels of dW writes just the B panels it multiplies.
 */
export function f32_im2col_nchw_bt_panels_range(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, q0: i32, q1: i32,
): void {
  const p = oh * ow;
  const taps = kh * kw;
  const n = c * taps;
  const end = min(n, q1 * GEMM_NR);
  for (let j0 = q0 * GEMM_NR; j0 < end; j0 += GEMM_NR) {
    for (let l = 0; l < GEMM_NR; l++) {
      const r = tmp + ((<usize>l * p) << 2);
      const j = j0 + l;
      if (j >= n) {
        memory.fill(r, 0, <usize>p << 2);
        continue;
      }
      const ci = j / taps;
      const t = j - ci * taps;
      const ky = t / kw;
      im2colTap(x, r, ci, ky, t - ky * kw, h, w, sh, sw, pt, pl, dh, dw, oh, ow);
    }
    const d = bp + ((<usize>j0 * p) << 2);
    let q = 0;
    if (ASC_FEATURE_SIMD) {
      for (; q + 4 <= p; q += 4) {
        for (let l = 0; l < GEMM_NR; l += 4) {
          const s = tmp + ((<usize>l * p + q) << 2);
          const r0 = v128.load(s);
          const r1 = v128.load(s + (<usize>p << 2));
          const r2 = v128.load(s + (<usize>(2 * p) << 2));
          const r3 = v128.load(s + (<usize>(3 * p) << 2));
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const o = d + ((<usize>q * GEMM_NR + l) << 2);
          v128.store(o, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(o + (GEMM_NR << 2), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
          v128.store(o + (GEMM_NR << 3), v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
          v128.store(o + (GEMM_NR * 12), v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
        }
      }
    }
    for (; q < p; q++) {
      for (let l = 0; l < GEMM_NR; l++) {
        store<f32>(d + ((<usize>q * GEMM_NR + l) << 2), load<f32>(tmp + ((<usize>l * p + q) << 2)));
      }
    }
  }
}

/** One im2col row: tap (ci, ky, kx) over every output position, written to dst [oh·ow]. */
// @ts-ignore: decorator
@inline function im2colTap(
  x: usize, dst: usize, ci: i32, ky: i32, kx: i32, h: i32, w: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
): void {
  const xc = at(x, ci * h * w);
  {
    {
      {
        const offX = kx * dw - pl;
        const lo = min(lowOut(offX, sw), ow);
        const hi = max(highOut(offX, sw, w, ow), lo);
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + ky * dh;
          const d = at(dst, oy * ow);
          if (iy < 0 || iy >= h) {
            memory.fill(d, 0, <usize>ow << 2);
            continue;
          }
          const src = at(xc, iy * w);
          if (lo > 0) memory.fill(d, 0, <usize>lo << 2);
          if (sw == 1) {
            memory.copy(at(d, lo), at(src, lo + offX), <usize>(hi - lo) << 2);
          } else {
            let ox = lo;
            if (ASC_FEATURE_SIMD) {
              if (sw == 2) {
                // Gather the even lanes of 8 consecutive input floats (all inside the row: 2·ox + 7 + offX < w).
                for (; ox + 4 <= hi && 2 * ox + 7 + offX < w; ox += 4) {
                  const q = at(src, 2 * ox + offX);
                  v128.store(at(d, ox), v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6));
                }
              }
            }
            for (; ox < hi; ox++) store<f32>(at(d, ox), load<f32>(at(src, ox * sw + offX)));
          }
          if (hi < ow) memory.fill(at(d, hi), 0, <usize>(ow - hi) << 2);
        }
      }
    }
  }
}

/** x = Σ over taps of col scattered back (the adjoint of im2col); x (c·h·w) is overwritten. */
export function f32_col2im_nchw_kxp(
  col: usize, x: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
): void {
  memory.fill(x, 0, <usize>(c * h * w) << 2);
  const p = oh * ow;
  for (let ci = 0; ci < c; ci++) {
    const xc = at(x, ci * h * w);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const src = at(col, ((ci * kh + ky) * kw + kx) * p);
        const offX = kx * dw - pl;
        const lo = min(lowOut(offX, sw), ow);
        const hi = max(highOut(offX, sw, w, ow), lo);
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const s = at(src, oy * ow);
          const d = at(xc, iy * w + offX);
          let ox = lo;
          if (sw == 1) {
            if (ASC_FEATURE_SIMD) {
              for (; ox + 4 <= hi; ox += 4) v128.store(at(d, ox), f32x4.add(v128.load(at(d, ox)), v128.load(at(s, ox))));
            }
            for (; ox < hi; ox++) store<f32>(at(d, ox), load<f32>(at(d, ox)) + load<f32>(at(s, ox)));
          } else {
            if (ASC_FEATURE_SIMD) {
              if (sw == 2) {
                // Scatter 4 values to the even lanes of 8 consecutive cells (odd lanes get + 0), inside the row.
                const zero = f32x4.splat(0);
                for (; ox + 4 <= hi && 2 * ox + 7 + offX < w; ox += 4) {
                  const v = v128.load(at(s, ox));
                  const q = at(d, 2 * ox);
                  v128.store(q, f32x4.add(v128.load(q), v128.shuffle<f32>(v, zero, 0, 4, 1, 4)));
                  v128.store(q, f32x4.add(v128.load(q, 16), v128.shuffle<f32>(v, zero, 2, 4, 3, 4)), 16);
                }
              }
            }
            for (; ox < hi; ox++) store<f32>(at(d, ox * sw), load<f32>(at(d, ox * sw)) + load<f32>(at(s, ox)));
          }
        }
      }
    }
  }
}
