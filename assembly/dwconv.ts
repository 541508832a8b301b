// Direct depthwise convolution, NCHW (no GEMM): SIMD across output columns, from a zero-padded copy of each
// input plane where the kernel shape allows it; the scalar build's loops are the twins.
import { sigmoid1, sigmoid4, tanh1, tanh4 } from './mathf';
import { highOut, lowOut } from './out_range';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
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
  if (!ASC_FEATURE_SIMD || (sw != 1 && sw != 2)) return 0;
  return ((oh - 1) * sh + (kh - 1) * dh + 1) * dwPlaneWidth(ow, sw, dw, kw);
}

/** Row stride of the padded plane: every tap window of 4 outputs (8 floats for stride 2), rounded up. */
// @ts-ignore: decorator
@inline function dwPlaneWidth(ow: i32, sw: i32, dw: i32, kw: i32): i32 {
  return (((ow + 3) & ~3) - 1) * sw + (kw - 1) * dw + 2;
}

/**
 * One output channel of a kh×kw depthwise convolution (any size but the 3×3 of dw3x3_plane_simd; stride 1
 * or 2 across, any stride down, any dilation) from a zero-padded copy of its input plane (row stride pw).
 * Four 4-wide output vectors at a time, each its own accumulator chain (one chain of kh·kw dependent
 * multiply-adds would stall on their latency): the vectors are taken in row-major order across the whole
 * output plane, so narrow late-stage planes (7 or 14 columns) keep all four chains busy too. Every tap is
 * at the same offset from each vector's window, so the tap loop has no bounds checks. A row's last vector
 * may hang past its end: its lanes beyond ow are computed from the plane's padding and not stored. Past the
 * last vector the group repeats it (same value stored twice) rather than branch in the tap loop.
 */
// @ts-ignore: decorator
@inline function dwkxkPlane(
  plane: usize, pw: i32, wk: usize, kh: i32, kw: i32, bv: f32, yc: usize, oh: i32, ow: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, act: i32, alpha: f32,
): void {
  const perRow = (ow + 3) >> 2;
  const count = oh * perRow;
  const vb = f32x4.splat(bv);
  const rowStep = <usize>(dh * pw) << 2;
  const tapStep = <usize>dw << 2;
  for (let j = 0; j < count; j += 4) {
    const j1 = min(j + 1, count - 1);
    const j2 = min(j + 2, count - 1);
    const j3 = min(j + 3, count - 1);
    // Window start of each vector: row oy·sh, column ox·sw of the padded plane.
    const q0 = at(plane, (j / perRow) * sh * pw + ((j % perRow) << 2) * sw);
    const q1 = at(plane, (j1 / perRow) * sh * pw + ((j1 % perRow) << 2) * sw);
    const q2 = at(plane, (j2 / perRow) * sh * pw + ((j2 % perRow) << 2) * sw);
    const q3 = at(plane, (j3 / perRow) * sh * pw + ((j3 % perRow) << 2) * sw);
    let a0 = vb;
    let a1 = vb;
    let a2 = vb;
    let a3 = vb;
    let row: usize = 0;
    for (let ky = 0; ky < kh; ky++) {
      const wr = at(wk, ky * kw);
      let off = row;
      for (let kx = 0; kx < kw; kx++) {
        const wv = v128.load32_splat(at(wr, kx));
        a0 = fma4(ld4s(q0 + off, sw), wv, a0);
        a1 = fma4(ld4s(q1 + off, sw), wv, a1);
        a2 = fma4(ld4s(q2 + off, sw), wv, a2);
        a3 = fma4(ld4s(q3 + off, sw), wv, a3);
        off += tapStep;
      }
      row += rowStep;
    }
    storeVec(yc, j, perRow, ow, act4(a0, act, alpha));
    storeVec(yc, j1, perRow, ow, act4(a1, act, alpha));
    storeVec(yc, j2, perRow, ow, act4(a2, act, alpha));
    storeVec(yc, j3, perRow, ow, act4(a3, act, alpha));
  }
}

/** Stores output vector j (row j / perRow, columns 4·(j % perRow)…) of a plane ow wide: its lanes inside the row. */
// @ts-ignore: decorator
@inline function storeVec(yc: usize, j: i32, perRow: i32, ow: i32, v: v128): void {
  const oy = j / perRow;
  const ox = (j % perRow) << 2;
  const p = at(yc, oy * ow + ox);
  const left = ow - ox;
  if (left >= 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (left > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (left > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * One output channel of a 3×3 depthwise convolution (stride 1 or 2 across, any stride down, any
 * dilation) from a zero-padded copy of its input plane (row stride pw): no borders, no bounds checks;
 * the nine weights stay in registers, 4 outputs per step in three independent chains (one per tap row).
 */
// @ts-ignore: decorator
@inline function dw3x3Plane(
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

// The plane kernels inlined once per stride across, with the stride a constant: ld4s then folds to one
// load (stride 1) or two loads and a shuffle (stride 2) instead of selecting between both per tap.
function dw3x3_plane_simd(
  plane: usize, pw: i32, wk: usize, bv: f32, yc: usize, oh: i32, ow: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, act: i32, alpha: f32,
): void {
  if (sw == 1) dw3x3Plane(plane, pw, wk, bv, yc, oh, ow, sh, 1, dh, dw, act, alpha);
  else dw3x3Plane(plane, pw, wk, bv, yc, oh, ow, sh, 2, dh, dw, act, alpha);
}

function dwkxk_plane_simd(
  plane: usize, pw: i32, wk: usize, kh: i32, kw: i32, bv: f32, yc: usize, oh: i32, ow: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, act: i32, alpha: f32,
): void {
  if (sw == 1) dwkxkPlane(plane, pw, wk, kh, kw, bv, yc, oh, ow, sh, 1, dh, dw, act, alpha);
  else dwkxkPlane(plane, pw, wk, kh, kw, bv, yc, oh, ow, sh, 2, dh, dw, act, alpha);
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
 * f32_dwconv2d_scratch_floats(...) floats (the SIMD paths' zero-padded input plane).
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
  if (ASC_FEATURE_SIMD && (sw == 1 || sw == 2)) {
    // Each input plane is copied once into the zero-padded plane (scratch), then every output channel
    // it feeds runs the border-free kernel. The padding around the copy stays zero across channels.
    const pw = dwPlaneWidth(ow, sw, dw, kw);
    const ph = (oh - 1) * sh + (kh - 1) * dh + 1;
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
          const yc = at(y, (b * cout + co) * oh * ow);
          const bv = load<f32>(at(bias, co));
          if (kh == 3 && kw == 3) dw3x3_plane_simd(scratch, pw, at(wt, co * 9), bv, yc, oh, ow, sh, sw, dh, dw, act, alpha);
          else dwkxk_plane_simd(scratch, pw, at(wt, co * kh * kw), kh, kw, bv, yc, oh, ow, sh, sw, dh, dw, act, alpha);
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
