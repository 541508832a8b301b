// Forward convolution helpers, NCHW: im2col written straight into the GEMM's packed B panels, and a
// direct depthwise convolution (no GEMM) with SIMD across output columns.
import { GEMM_NR } from './gemm_tile';
import { sigmoid1, sigmoid4, tanh1, tanh4 } from './mathf';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** First output index o ≥ 0 with o·s + off ≥ 0. */
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

/**
 * im2col for horizontal stride 1 or 2 when every panel's NR columns lie in one output row (ow a
 * multiple of NR). Per output row and input row (ci, ky), the input row is copied once into tmp between
 * its zero padding (pl zeros, the row, zeros up to the last column a tap reads, plus slack), so each
 * (panel, tap) is a window of tmp: two v128 copies for stride 1, four loads and two even-lane shuffles
 * for stride 2, no bounds checks. Rows in the vertical padding are zero-filled.
 */
function im2col_panels_rowaligned(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, c0: i32, c1: i32,
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
  for (let oy = 0; oy < oh; oy++) {
    const dRow = bp + <usize>(oy * rowPanels) * panelBytes;
    for (let ci = c0; ci < c1; ci++) {
      const xc = at(x, ci * h * w);
      for (let ky = 0; ky < kh; ky++) {
        const dk = dRow + (<usize>((ci * kh + ky) * kw) * GEMM_NR << 2);
        const iy = oy * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) {
          for (let pj = 0; pj < rowPanels; pj++) memory.fill(dk + <usize>pj * panelBytes, 0, tapBytes);
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
        for (let pj = 0; pj < rowPanels; pj++) {
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
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, c0: i32, c1: i32,
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
  for (let ci = c0; ci < c1; ci++) {
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
    let dj = bp + (<usize>(ci * kh * kw) * GEMM_NR << 2);
    for (let j = 0; j < panels; j++) {
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
  f32_im2col_nchw_panels_channels(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, 0, c);
}

/**
 * f32_im2col_nchw_panels for input channels [c0, c1) only: the panel rows (c0·kh·kw …] of every panel of
 * the full c-channel layout. Threads share one image's im2col by channel ranges (each with its own tmp);
 * every value is copied as in one call over all channels.
 */
export function f32_im2col_nchw_panels_channels(
  x: usize, bp: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, tmp: usize, c0: i32, c1: i32,
): void {
  if (rowAligned(sw, ow)) im2col_panels_rowaligned(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, c0, c1);
  else im2col_panels_plane(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, c0, c1);
}

// @ts-ignore: decorator
@inline function act1(v: f32, act: i32, alpha: f32): f32 {
  if (act == 1) return v < 0 ? 0 : v;
  if (act == 2) return v < 0 ? 0 : v > 6 ? 6 : v;
  if (act == 3) return v >= 0 ? v : alpha * v;
  if (act == 4) return sigmoid1(v);
  if (act == 5) return tanh1(v);
  return v;
}

// @ts-ignore: decorator
@inline function act4(v: v128, act: i32, alpha: f32): v128 {
  if (act == 1) return f32x4.pmax(v, f32x4.splat(0));
  if (act == 2) return f32x4.pmin(f32x4.pmax(v, f32x4.splat(0)), f32x4.splat(6));
  if (act == 3) return v128.bitselect(v, f32x4.mul(v, f32x4.splat(alpha)), f32x4.ge(v, f32x4.splat(0)));
  if (act == 4) return sigmoid4(v);
  if (act == 5) return tanh4(v);
  return v;
}

// @ts-ignore: decorator
@inline function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** One depthwise output with bounds checks (borders, and every output of the scalar build). */
// @ts-ignore: decorator
@inline function dwPoint(
  xc: usize, wk: usize, bv: f32, oy: i32, ox: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
): f32 {
  let acc = bv;
  const iy0 = oy * sh - pt;
  const ix0 = ox * sw - pl;
  for (let ky = 0; ky < kh; ky++) {
    const iy = iy0 + ky * dh;
    if (iy < 0 || iy >= h) continue;
    const xr = at(xc, iy * w);
    const wr = at(wk, ky * kw);
    for (let kx = 0; kx < kw; kx++) {
      const ix = ix0 + kx * dw;
      if (ix < 0 || ix >= w) continue;
      acc += load<f32>(at(xr, ix)) * load<f32>(at(wr, kx));
    }
  }
  return acc;
}

// @ts-ignore: decorator
@inline function ld4s(q: usize, sw: i32): v128 {
  return sw == 1 ? v128.load(q) : v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6);
}

/** Floats of the zero-padded plane the SIMD 3×3 depthwise path needs (0: that path does not apply). */
export function f32_dwconv2d_scratch_floats(kh: i32, kw: i32, oh: i32, ow: i32, sh: i32, sw: i32, dh: i32, dw: i32): i32 {
  if (!ASC_FEATURE_SIMD || kh != 3 || kw != 3 || (sw != 1 && sw != 2)) return 0;
  return ((oh - 1) * sh + 2 * dh + 1) * dwPlaneWidth(ow, sw, dw);
}

/** Row stride of the padded plane: every tap window of 4 outputs (8 floats for stride 2), rounded up. */
// @ts-ignore: decorator
@inline function dwPlaneWidth(ow: i32, sw: i32, dw: i32): i32 {
  return (((ow + 3) & ~3) - 1) * sw + 2 * dw + 2;
}

/**
 * One output channel of a 3×3 depthwise convolution (stride 1 or 2 across, any stride down, any
 * dilation) from a zero-padded copy of its input plane (row stride pw): no borders, no bounds checks;
 * the nine weights stay in registers, 4 outputs per step in three independent chains (one per tap row).
 */
function dw3x3_plane_simd(
  plane: usize, pw: i32, wk: usize, bv: f32, yc: usize, oh: i32, ow: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, act: i32, alpha: f32,
): void {
  const w0 = v128.load32_splat(wk);
  const w1 = v128.load32_splat(wk, 4);
  const w2 = v128.load32_splat(wk, 8);
  const w3 = v128.load32_splat(wk, 12);
  const w4 = v128.load32_splat(wk, 16);
  const w5 = v128.load32_splat(wk, 20);
  const w6 = v128.load32_splat(wk, 24);
  const w7 = v128.load32_splat(wk, 28);
  const w8 = v128.load32_splat(wk, 32);
  const vb = f32x4.splat(bv);
  const d1 = <usize>dw << 2;
  const d2 = d1 << 1;
  const rowStep = <usize>(dh * pw) << 2;
  const ow4 = ow & ~3;
  for (let oy = 0; oy < oh; oy++) {
    const r0 = at(plane, oy * sh * pw);
    const r1 = r0 + rowStep;
    const r2 = r1 + rowStep;
    const yr = at(yc, oy * ow);
    for (let ox = 0; ox < ow4; ox += 4) {
      const o = <usize>(ox * sw) << 2;
      let acc0 = fma4(ld4s(r0 + o, sw), w0, vb);
      let acc1 = f32x4.mul(ld4s(r1 + o, sw), w3);
      let acc2 = f32x4.mul(ld4s(r2 + o, sw), w6);
      acc0 = fma4(ld4s(r0 + o + d1, sw), w1, acc0);
      acc1 = fma4(ld4s(r1 + o + d1, sw), w4, acc1);
      acc2 = fma4(ld4s(r2 + o + d1, sw), w7, acc2);
      acc0 = fma4(ld4s(r0 + o + d2, sw), w2, acc0);
      acc1 = fma4(ld4s(r1 + o + d2, sw), w5, acc1);
      acc2 = fma4(ld4s(r2 + o + d2, sw), w8, acc2);
      v128.store(at(yr, ox), act4(f32x4.add(f32x4.add(acc0, acc1), acc2), act, alpha));
    }
    if (ow4 < ow) {
      // The last 1–3 outputs: one more 4-wide step into a small buffer (the plane has the room).
      const o = <usize>(ow4 * sw) << 2;
      let acc0 = fma4(ld4s(r0 + o, sw), w0, vb);
      acc0 = fma4(ld4s(r0 + o + d1, sw), w1, acc0);
      acc0 = fma4(ld4s(r0 + o + d2, sw), w2, acc0);
      acc0 = fma4(ld4s(r1 + o, sw), w3, acc0);
      acc0 = fma4(ld4s(r1 + o + d1, sw), w4, acc0);
      acc0 = fma4(ld4s(r1 + o + d2, sw), w5, acc0);
      acc0 = fma4(ld4s(r2 + o, sw), w6, acc0);
      acc0 = fma4(ld4s(r2 + o + d1, sw), w7, acc0);
      acc0 = fma4(ld4s(r2 + o + d2, sw), w8, acc0);
      acc0 = act4(acc0, act, alpha);
      store<f32>(at(yr, ow4), f32x4.extract_lane(acc0, 0));
      if (ow4 + 1 < ow) store<f32>(at(yr, ow4 + 1), f32x4.extract_lane(acc0, 1));
      if (ow4 + 2 < ow) store<f32>(at(yr, ow4 + 2), f32x4.extract_lane(acc0, 2));
    }
  }
}

/** Scalar twin of dw3x3_channel_simd: nine weights in locals, interior columns without bounds checks. */
function dw3x3_channel_scalar(
  xc: usize, wk: usize, bv: f32, yc: usize, h: i32, w: i32, oh: i32, ow: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, xlo: i32, xhi: i32, act: i32, alpha: f32,
): void {
  const w0 = load<f32>(wk);
  const w1 = load<f32>(wk, 4);
  const w2 = load<f32>(wk, 8);
  const w3 = load<f32>(wk, 12);
  const w4 = load<f32>(wk, 16);
  const w5 = load<f32>(wk, 20);
  const w6 = load<f32>(wk, 24);
  const w7 = load<f32>(wk, 28);
  const w8 = load<f32>(wk, 32);
  const d1 = <usize>dw << 2;
  const d2 = d1 << 1;
  const rowStep = <usize>(dh * w) << 2;
  const step = <usize>sw << 2;
  for (let oy = 0; oy < oh; oy++) {
    const iy0 = oy * sh - pt;
    const yr = at(yc, oy * ow);
    let ox = 0;
    if (iy0 >= 0 && iy0 + 2 * dh < h) {
      for (; ox < xlo; ox++) store<f32>(at(yr, ox), act1(dwPoint(xc, wk, bv, oy, ox, h, w, 3, 3, sh, sw, pt, pl, dh, dw), act, alpha));
      let q0 = at(xc, iy0 * w + ox * sw - pl);
      for (; ox < xhi; ox++) {
        const q1 = q0 + rowStep;
        const q2 = q1 + rowStep;
        let acc = bv + load<f32>(q0) * w0;
        acc += load<f32>(q0 + d1) * w1;
        acc += load<f32>(q0 + d2) * w2;
        acc += load<f32>(q1) * w3;
        acc += load<f32>(q1 + d1) * w4;
        acc += load<f32>(q1 + d2) * w5;
        acc += load<f32>(q2) * w6;
        acc += load<f32>(q2 + d1) * w7;
        acc += load<f32>(q2 + d2) * w8;
        store<f32>(at(yr, ox), act1(acc, act, alpha));
        q0 += step;
      }
    }
    for (; ox < ow; ox++) store<f32>(at(yr, ox), act1(dwPoint(xc, wk, bv, oy, ox, h, w, 3, 3, sh, sw, pt, pl, dh, dw), act, alpha));
  }
}

/**
 * Direct depthwise convolution (groups = c, c·mult output channels; output channel co reads input
 * channel co / mult), NCHW, with bias[co] and the activation (codes as in gemm_epilogue.ts) fused. Interior
 * output columns (every tap inside the row) run 4 at a time for strides 1 and 2; borders are scalar.
 * wt: [c·mult][kh][kw]; bias: c·mult floats (zeros when the layer has none); scratch:
 * f32_dwconv2d_scratch_floats(...) floats (the SIMD 3×3 path's zero-padded input plane).
 */
export function f32_dwconv2d_nchw(
  x: usize, wt: usize, bias: usize, y: usize, n: i32, c: i32, mult: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, act: i32, alpha: f32, scratch: usize,
): void {
  const cout = c * mult;
  // Columns whose taps are all inside the row: ox·sw − pl ≥ 0 and ox·sw − pl + (kw−1)·dw ≤ w − 1.
  const offMax = (kw - 1) * dw - pl;
  const xlo = min(lowOut(-pl, sw), ow);
  const xhi = max(highOut(offMax, sw, w, ow), xlo);
  if (!ASC_FEATURE_SIMD && kh == 3 && kw == 3) {
    for (let b = 0; b < n; b++) {
      for (let co = 0; co < cout; co++) {
        const xc = at(x, (b * c + co / mult) * h * w);
        const yc = at(y, (b * cout + co) * oh * ow);
        dw3x3_channel_scalar(xc, at(wt, co * 9), load<f32>(at(bias, co)), yc, h, w, oh, ow, sh, sw, pt, pl, dh, dw, xlo, xhi, act, alpha);
      }
    }
    return;
  }
  if (ASC_FEATURE_SIMD && kh == 3 && kw == 3 && (sw == 1 || sw == 2)) {
    // Each input plane is copied once into the zero-padded plane (scratch), then every output channel
    // it feeds runs the border-free kernel. The padding around the copy stays zero across channels.
    const pw = dwPlaneWidth(ow, sw, dw);
    const ph = (oh - 1) * sh + 2 * dh + 1;
    memory.fill(scratch, 0, <usize>(ph * pw) << 2);
    const rows = min(h, ph - pt); // input rows any tap reads
    const cols = min(w, pw - pl);
    for (let b = 0; b < n; b++) {
      for (let ci = 0; ci < c; ci++) {
        const xc = at(x, (b * c + ci) * h * w);
        for (let iy = 0; iy < rows; iy++) {
          const src = at(xc, iy * w);
          const dst = at(scratch, (pt + iy) * pw + pl);
          let i = 0;
          for (; i + 4 <= cols; i += 4) v128.store(at(dst, i), v128.load(at(src, i)));
          for (; i < cols; i++) store<f32>(at(dst, i), load<f32>(at(src, i)));
        }
        for (let m = 0; m < mult; m++) {
          const co = ci * mult + m;
          dw3x3_plane_simd(scratch, pw, at(wt, co * 9), load<f32>(at(bias, co)), at(y, (b * cout + co) * oh * ow), oh, ow, sh, sw, dh, dw, act, alpha);
        }
      }
    }
    return;
  }
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const ci = co / mult;
      const xc = at(x, (b * c + ci) * h * w);
      const wk = at(wt, co * kh * kw);
      const bv = load<f32>(at(bias, co));
      const yc = at(y, (b * cout + co) * oh * ow);
      for (let oy = 0; oy < oh; oy++) {
        const iy0 = oy * sh - pt;
        const yr = at(yc, oy * ow);
        let ox = 0;
        while (ox < ow) {
          if (ASC_FEATURE_SIMD && ox >= xlo && ox + 4 <= xhi && (sw == 1 || (sw == 2 && 2 * (ox + 3) + 1 + offMax < w))) {
            let acc = f32x4.splat(bv);
            const ix0 = ox * sw - pl;
            for (let ky = 0; ky < kh; ky++) {
              const iy = iy0 + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const xr = at(xc, iy * w + ix0);
              const wr = at(wk, ky * kw);
              for (let kx = 0; kx < kw; kx++) {
                const q = at(xr, kx * dw);
                const v = sw == 1 ? v128.load(q) : v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6);
                acc = fma4(v, v128.load32_splat(at(wr, kx)), acc);
              }
            }
            v128.store(at(yr, ox), act4(acc, act, alpha));
            ox += 4;
          } else {
            let acc = bv;
            const ix0 = ox * sw - pl;
            for (let ky = 0; ky < kh; ky++) {
              const iy = iy0 + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const xr = at(xc, iy * w);
              const wr = at(wk, ky * kw);
              for (let kx = 0; kx < kw; kx++) {
                const ix = ix0 + kx * dw;
                if (ix < 0 || ix >= w) continue;
                acc += load<f32>(at(xr, ix)) * load<f32>(at(wr, kx));
              }
            }
            store<f32>(at(yr, ox), act1(acc, act, alpha));
            ox++;
          }
        }
      }
    }
  }
}
