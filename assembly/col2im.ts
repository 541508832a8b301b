// im2col / col2im for the convolution backward pass, NCHW, one image and one group at a time.
// Layout "kxp": col is [K = c·kh·kw rows][P = oh·ow columns], row (ci, ky, kx), so the weight gradient is
// dW = dY · colᵀ and the input gradient is col2im(Wᵀ · dY), both through f32_gemm.
// For each kernel tap the valid output columns form one contiguous range [lo, hi) (computed once per
// tap), so the inner loops have no bounds checks; with stride 1 they are contiguous SIMD copies/adds.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** First output index o ≥ 0 with o·s + off ≥ 0 (off = kx·dil − pad). */
// @ts-ignore: decorator
@inline function lowOut(off: i32, s: i32): i32 {
  return off >= 0 ? 0 : (-off + s - 1) / s;
}

/** One past the last output index o < outSize with o·s + off ≤ size − 1. */
// @ts-ignore: decorator
@inline function highOut(off: i32, s: i32, size: i32, outSize: i32): i32 {
  const room = size - 1 - off;
  if (room < 0) return 0;
  const e = room / s + 1;
  return e < outSize ? e : outSize;
}

/** col[(ci·kh + ky)·kw + kx][oy·ow + ox] = x[ci][oy·sh − pt + ky·dh][ox·sw − pl + kx·dw] (0 outside). */
export function f32_im2col_nchw_kxp(
  x: usize, col: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
): void {
  const p = oh * ow;
  for (let ci = 0; ci < c; ci++) {
    const xc = at(x, ci * h * w);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const dst = at(col, ((ci * kh + ky) * kw + kx) * p);
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
