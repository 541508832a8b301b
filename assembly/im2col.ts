// Forward convolution helper, NCHW: im2col written straight into the GEMM's packed B panels (the direct
// depthwise convolution is in dwconv.ts).
import { GEMM_NR } from './gemm_tile';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}


/**
 * im2col for horizontal stride 1 or 2 when every panel's NR columns lie in one output row (ow a
 * multiple of NR). Per output row and input row (ci, ky), the input row is copied once into tmp between
 * its zero padding (pl zeros, the row, zeros up to the last column a tap reads, plus slack), so each
 * (panel, tap) is a window of tmp: two v128 copies for stride 1, four loads and two even-lane shuffles
 * for stride 2, no bounds checks. Rows in the vertical padding are zero-filled.
 */
function im2col_panels_rowaligned(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, j0: i32, j1: i32,
): void {
  const K = c * kh * kw;
  const panelBytes = <usize>K * GEMM_NR << 2;
  const rowPanels = ow / GEMM_NR;
  const tw = (ow - 1) * sw + (kw - 1) * dw + 1; // padded row width the taps read
  const copyW = min(w, tw - pl); // input columns any tap reads (tw ≥ pl for stride ≤ 2)
  // Zeros around the copied row (they stay zero: only [pl, pl + copyW) is rewritten), with 4 floats
  // of slack after tw for the stride-2 window's last odd lane.
  if (pl > 0) memory.fill(tmp, 0, <usize>pl << 2);
  memory.fill(at(tmp, pl + copyW), 0, <usize>(tw + 4 - pl - copyW) << 2);
  const direct = sw == 1 && pl == 0 && copyW == tw; // the row itself is the padded row
  const tapBytes = <usize>(kw * GEMM_NR) << 2;
  // Output rows holding panels [j0, j1); within a row, its panels in that range.
  for (let oy = j0 / rowPanels; oy < oh && oy * rowPanels < j1; oy++) {
    const dRow = bp + <usize>(oy * rowPanels) * panelBytes;
    const pjFrom = max(0, j0 - oy * rowPanels);
    const pjTo = min(rowPanels, j1 - oy * rowPanels);
    for (let ci = 0; ci < c; ci++) {
      const xc = at(x, ci * h * w);
      for (let ky = 0; ky < kh; ky++) {
        const dk = dRow + (<usize>((ci * kh + ky) * kw) * GEMM_NR << 2);
        const iy = oy * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) {
          for (let pj = pjFrom; pj < pjTo; pj++) memory.fill(dk + <usize>pj * panelBytes, 0, tapBytes);
          continue;
        }
        const src = at(xc, iy * w);
        let row = src;
        if (!direct) {
          const t = at(tmp, pl);
          let i = 0;
          if (ASC_FEATURE_SIMD) {
            for (; i + 4 <= copyW; i += 4) v128.store(at(t, i), v128.load(at(src, i)));
          }
          for (; i < copyW; i++) store<f32>(at(t, i), load<f32>(at(src, i)));
          row = tmp;
        }
        for (let pj = pjFrom; pj < pjTo; pj++) {
          let d = dk + <usize>pj * panelBytes;
          const s = at(row, pj * GEMM_NR * sw);
          for (let kx = 0; kx < kw; kx++) {
            const q = at(s, kx * dw);
            if (ASC_FEATURE_SIMD) {
              if (sw == 1) {
                v128.store(d, v128.load(q));
                v128.store(d, v128.load(q, 16), 16);
              } else {
                v128.store(d, v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6));
                v128.store(d, v128.shuffle<f32>(v128.load(q, 32), v128.load(q, 48), 0, 2, 4, 6), 16);
              }
            } else {
              for (let l = 0; l < GEMM_NR; l++) store<f32>(d + (<usize>l << 2), load<f32>(q + (<usize>(l * sw) << 2)));
            }
            d += GEMM_NR << 2;
          }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function rowAligned(sw: i32, ow: i32): bool {
  return (sw == 1 || sw == 2) && ow % GEMM_NR == 0;
}

/** Floats of tmp that f32_im2col_nchw_panels needs for this geometry. */
export function f32_im2col_panels_tmp_floats(kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, oh: i32, ow: i32): i32 {
  if (rowAligned(sw, ow)) return (ow - 1) * sw + (kw - 1) * dw + 1 + 8;
  return planeHeight(kh, sh, dh, oh) * planeWidth(kw, sw, dw, ow) + oh * ow + 8;
}

// @ts-ignore: decorator
@inline function planeWidth(kw: i32, sw: i32, dw: i32, ow: i32): i32 {
  return (ow - 1) * sw + (kw - 1) * dw + 1;
}
// @ts-ignore: decorator
@inline function planeHeight(kh: i32, sh: i32, dh: i32, oh: i32): i32 {
  return (oh - 1) * sh + (kh - 1) * dh + 1;
}

/**
 * im2col into panels for any geometry: each input channel is copied once into a zero-padded plane
 * (tmp), so every col value is plane[base[p] + tap] with base[p] = oy·sh·pw + ox·sw (computed once per
 * call, after the plane in tmp) and tap = ky·dh·pw + kx·dw: no bounds checks. A panel whose NR columns
 * lie in one output row is two v128 copies per tap at stride 1 (even-lane shuffles at stride 2); a panel
 * that spans rows is gathered lane by lane.
 */
function im2col_panels_plane(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, j0: i32, j1: i32,
): void {
  const K = c * kh * kw;
  const P = oh * ow;
  const panels = (P + GEMM_NR - 1) / GEMM_NR;
  const panelBytes = <usize>K * GEMM_NR << 2;
  const pw = planeWidth(kw, sw, dw, ow);
  const ph = planeHeight(kh, sh, dh, oh);
  const plane = tmp;
  const base = tmp + (<usize>(ph * pw) << 2); // P i32 offsets
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) store<i32>(base + (<usize>(oy * ow + ox) << 2), oy * sh * pw + ox * sw);
  }
  memory.fill(plane, 0, <usize>(ph * pw) << 2);
  const rows = min(h, ph - pt); // input rows and columns any tap reads
  const cols = min(w, pw - pl);
  for (let ci = 0; ci < c; ci++) {
    const xc = at(x, ci * h * w);
    for (let iy = 0; iy < rows; iy++) {
      const src = at(xc, iy * w);
      const dst = at(plane, (pt + iy) * pw + pl);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        for (; i + 4 <= cols; i += 4) v128.store(at(dst, i), v128.load(at(src, i)));
      }
      for (; i < cols; i++) store<f32>(at(dst, i), load<f32>(at(src, i)));
    }
    let dj = bp + (<usize>(ci * kh * kw) * GEMM_NR << 2) + <usize>j0 * panelBytes;
    for (let j = j0; j < min(j1, panels); j++) {
      const p0 = j * GEMM_NR;
      const lanes = min(GEMM_NR, P - p0);
      const b0 = load<i32>(base + (<usize>p0 << 2));
      const oneRow = lanes == GEMM_NR && (p0 % ow) + GEMM_NR <= ow;
      let d = dj;
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const tap = ky * dh * pw + kx * dw;
          if (ASC_FEATURE_SIMD && oneRow && sw == 1) {
            const q = at(plane, b0 + tap);
            v128.store(d, v128.load(q));
            v128.store(d, v128.load(q, 16), 16);
          } else if (ASC_FEATURE_SIMD && oneRow && sw == 2 && b0 + tap + 2 * GEMM_NR <= ph * pw) {
            const q = at(plane, b0 + tap);
            v128.store(d, v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6));
            v128.store(d, v128.shuffle<f32>(v128.load(q, 32), v128.load(q, 48), 0, 2, 4, 6), 16);
          } else {
            for (let l = 0; l < lanes; l++) {
              store<f32>(d + (<usize>l << 2), load<f32>(at(plane, load<i32>(base + (<usize>(p0 + l) << 2)) + tap)));
            }
            for (let l = lanes; l < GEMM_NR; l++) store<f32>(d + (<usize>l << 2), 0);
          }
          d += GEMM_NR << 2;
        }
      }
      dj += panelBytes;
    }
  }
}


/**
 * im2col of one image (c channels) into NR-column panels: the K×P matrix col[k][p] with
 * k = (ci·kh + ky)·kw + kx and p = oy·ow + ox is stored as panel p/NR, row k, lane p%NR
 * (bp + ((p/NR)·K + k)·NR + p%NR floats); lanes past P in the last panel are zero.
 * tmp: f32_im2col_panels_tmp_floats(kh, kw, sh, sw, dh, dw, oh, ow) floats of scratch.
 */
export function f32_im2col_nchw_panels(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize,
): void {
  const panels = (oh * ow + GEMM_NR - 1) / GEMM_NR;
  f32_im2col_nchw_panels_range(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, 0, panels);
}

/**
 * f32_im2col_nchw_panels for panels [j0, j1) only (output positions j0·NR … j1·NR − 1), every channel: the
 * same values in the same places of the full layout. At batch 1, each thread writes the panels it then
 * multiplies, so no thread reads B panels another wrote and one image needs one round, not two.
 */
export function f32_im2col_nchw_panels_range(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, j0: i32, j1: i32,
): void {
  if (rowAligned(sw, ow)) im2col_panels_rowaligned(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, j0, j1);
  else im2col_panels_plane(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, j0, j1);
}
