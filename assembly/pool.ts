// Pooling over NCHW planes (N·C planes of h×w floats). Each output row is split into border columns
// (windows clipped by the padding: bounds-checked scalar code) and interior columns (windows fully
// inside the row: no bounds checks, 4 outputs per v128 when the stride is 1 or 2). Rows are clipped
// once per output row, so the interior loop only walks the valid kernel rows.
// Max pooling propagates NaN like PyTorch. The SIMD paths take pmax (one instruction on x64, where
// NaN-propagating f32x4.max is several) and OR a NaN mask (v != v) into the result, which turns a
// window holding NaN into NaN. Padded cells never win: they are skipped, not read as -inf.

import { highOut, lowOut } from './out_range';

// @ts-ignore: decorator
@inline function ldf(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function stf(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

/** First kernel tap k with 0 ≤ start + k·dil (out_range's lowOut, the taps being the strided positions). */
// @ts-ignore: decorator
@inline function firstTap(start: i32, dil: i32): i32 {
  return lowOut(start, dil);
}

/** One past the last kernel tap k (< k) with start + k·dil < size. */
// @ts-ignore: decorator
@inline function endTap(start: i32, k: i32, size: i32, dil: i32): i32 {
  return highOut(start, dil, size, k);
}

/** First output column whose window starts at or after column 0. */
// @ts-ignore: decorator
@inline function interiorBegin(pad: i32, stride: i32, outSize: i32): i32 {
  const b = (pad + stride - 1) / stride;
  return b < outSize ? b : outSize;
}

/** One past the last output column whose window (extent `span`) ends inside the row. */
// @ts-ignore: decorator
@inline function interiorEnd(size: i32, pad: i32, span: i32, stride: i32, outSize: i32, begin: i32): i32 {
  const room = size - 1 + pad - (span - 1);
  if (room < 0) return begin;
  let e = room / stride + 1;
  if (e > outSize) e = outSize;
  return e < begin ? begin : e;
}

// @ts-ignore: decorator
@inline function maxWindowChecked(
  row0: usize, w: i32, ky0: i32, ky1: i32, dhw: i32, ix0: i32, kw: i32, dw: i32,
): f32 {
  let best: f32 = -Infinity;
  const kx0 = firstTap(ix0, dw);
  const kx1 = endTap(ix0, kw, w, dw);
  for (let ky = ky0; ky < ky1; ky++) {
    const r = row0 + (<usize>(ky * dhw) << 2);
    for (let kx = kx0; kx < kx1; kx++) {
      const v = ldf(r, ix0 + kx * dw);
      // Same rule as PyTorch: a NaN wins and then stays.
      if (v > best || v != v) best = v;
    }
  }
  return best;
}

/**
 * Max pooling, NCHW. x: planes·h·w floats, y: planes·oh·ow floats. Window (kh, kw), stride (sh, sw),
 * symmetric padding (ph, pw), dilation (dh, dw); output sizes come from the caller (ceil mode decided there).
 */
export function f32_maxpool2d_nchw(
  x: usize, y: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32,
): void {
  const ox0 = interiorBegin(pw, sw, ow);
  const ox1 = interiorEnd(w, pw, (kw - 1) * dw + 1, sw, ow, ox0);
  const dhw = dh * w;
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * h * w) << 2);
    const yp = y + (<usize>(p * oh * ow) << 2);
    for (let oy = 0; oy < oh; oy++) {
      const iy0 = oy * sh - ph;
      const ky0 = firstTap(iy0, dh);
      const ky1 = endTap(iy0, kh, h, dh);
      const row0 = xp + (<usize>(iy0 * w) << 2); // may point before the plane; only valid rows are read
      const yr = yp + (<usize>(oy * ow) << 2);
      for (let ox = 0; ox < ox0; ox++) {
        stf(yr, ox, maxWindowChecked(row0, w, ky0, ky1, dhw, ox * sw - pw, kw, dw));
      }
      let ox = ox0;
      if (ASC_FEATURE_SIMD) {
        if (sw == 2 && kw == 2 && dw == 1) {
          // The CNN's 2x2/2 pooling: two loads give 8 inputs, even and odd lanes are the two taps.
          for (; ox + 4 <= ox1; ox += 4) {
            let acc = f32x4.splat(-Infinity);
            let nan = v128.splat<i32>(0);
            const c = (<usize>(ox * 2 - pw) << 2);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * dhw) << 2) + c;
              const a = v128.load(r);
              const b = v128.load(r, 16);
              const even = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
              const odd = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
              acc = f32x4.pmax(acc, f32x4.pmax(even, odd));
              nan = v128.or(nan, v128.or(f32x4.ne(even, even), f32x4.ne(odd, odd)));
            }
            v128.store(yr + (<usize>ox << 2), v128.or(acc, nan));
          }
        } else if (sw == 2 && kw == 3 && dw == 1) {
          // 3x3/2 (ResNet stems): 8 inputs plus the 9th give the three taps by shuffles; nothing past the window is read.
          for (; ox + 4 <= ox1; ox += 4) {
            let acc = f32x4.splat(-Infinity);
            let nan = v128.splat<i32>(0);
            const c = (<usize>(ox * 2 - pw) << 2);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * dhw) << 2) + c;
              const a = v128.load(r);
              const b = v128.load(r, 16);
              const even = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
              const odd = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
              const next = v128.shuffle<f32>(even, v128.load32_splat(r, 32), 1, 2, 3, 4);
              acc = f32x4.pmax(acc, f32x4.pmax(f32x4.pmax(even, odd), next));
              nan = v128.or(nan, v128.or(v128.or(f32x4.ne(even, even), f32x4.ne(odd, odd)), f32x4.ne(next, next)));
            }
            v128.store(yr + (<usize>ox << 2), v128.or(acc, nan));
          }
        } else if (sw == 2) {
          // Each tap reads 8 consecutive inputs and keeps the even lanes; stop where the 8th would leave the row.
          const lastTap = (kw - 1) * dw - pw;
          for (; ox + 4 <= ox1 && ox * 2 + 7 + lastTap < w; ox += 4) {
            let acc = f32x4.splat(-Infinity);
            let nan = v128.splat<i32>(0);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * dhw) << 2) + (<usize>(ox * 2 - pw) << 2);
              for (let kx = 0; kx < kw; kx++) {
                const q = r + (<usize>(kx * dw) << 2);
                const v = v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6);
                acc = f32x4.pmax(acc, v);
                nan = v128.or(nan, f32x4.ne(v, v));
              }
            }
            v128.store(yr + (<usize>ox << 2), v128.or(acc, nan));
          }
        } else if (sw == 1) {
          for (; ox + 4 <= ox1; ox += 4) {
            let acc = f32x4.splat(-Infinity);
            let nan = v128.splat<i32>(0);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * dhw) << 2) + (<usize>(ox - pw) << 2);
              for (let kx = 0; kx < kw; kx++) {
                const v = v128.load(r + (<usize>(kx * dw) << 2));
                acc = f32x4.pmax(acc, v);
                nan = v128.or(nan, f32x4.ne(v, v));
              }
            }
            v128.store(yr + (<usize>ox << 2), v128.or(acc, nan));
          }
        }
      }
      // Interior columns left over (or all of them without SIMD): no column bounds checks.
      for (; ox < ox1; ox++) {
        let best: f32 = -Infinity;
        const ix0 = ox * sw - pw;
        for (let ky = ky0; ky < ky1; ky++) {
          const r = row0 + (<usize>(ky * dhw) << 2);
          for (let kx = 0; kx < kw; kx++) {
            const v = ldf(r, ix0 + kx * dw);
            if (v > best || v != v) best = v;
          }
        }
        stf(yr, ox, best);
      }
      for (ox = ox1; ox < ow; ox++) {
        stf(yr, ox, maxWindowChecked(row0, w, ky0, ky1, dhw, ox * sw - pw, kw, dw));
      }
    }
  }
}

/**
 * The divisor's extent along one axis for a window starting at `start`, PyTorch's rule: clipped to
 * the padded input when padded cells count, to the input alone when they do not.
 */
// @ts-ignore: decorator
@inline function poolExtent(start: i32, k: i32, size: i32, pad: i32, countPad: bool): i32 {
  let end = start + k;
  if (end > size + pad) end = size + pad;
  if (countPad) return end - start;
  const s = start < 0 ? 0 : start;
  const e = end < size ? end : size;
  return e - s;
}

/**
 * Average pooling, NCHW (no dilation, as in PyTorch). countPad: whether padded cells count in the
 * divisor (PyTorch's count_include_pad).
 */
export function f32_avgpool2d_nchw(
  x: usize, y: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, countPad: i32,
): void {
  const cp = countPad != 0;
  const ox0 = interiorBegin(pw, sw, ow);
  const ox1 = interiorEnd(w, pw, kw, sw, ow, ox0);
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * h * w) << 2);
    const yp = y + (<usize>(p * oh * ow) << 2);
    for (let oy = 0; oy < oh; oy++) {
      const iy0 = oy * sh - ph;
      const ky0 = firstTap(iy0, 1);
      const ky1 = endTap(iy0, kh, h, 1);
      const rows = <f32>poolExtent(iy0, kh, h, ph, cp);
      const row0 = xp + (<usize>(iy0 * w) << 2);
      const yr = yp + (<usize>(oy * ow) << 2);
      for (let ox = 0; ox < ow; ox++) {
        if (ox == ox0) ox = ox1; // interior columns below
        if (ox >= ow) break;
        const ix0 = ox * sw - pw;
        const kx0 = firstTap(ix0, 1);
        const kx1 = endTap(ix0, kw, w, 1);
        let sum: f32 = 0;
        for (let ky = ky0; ky < ky1; ky++) {
          const r = row0 + (<usize>(ky * w) << 2);
          for (let kx = kx0; kx < kx1; kx++) sum += ldf(r, ix0 + kx);
        }
        stf(yr, ox, sum / (rows * <f32>poolExtent(ix0, kw, w, pw, cp)));
      }
      // Interior: the window's columns are all inside the row, so the divisor is rows·kw.
      const div: f32 = rows * <f32>kw;
      let ox = ox0;
      if (ASC_FEATURE_SIMD) {
        const vdiv = f32x4.splat(div);
        if (sw == 2 && kw == 2) {
          for (; ox + 4 <= ox1; ox += 4) {
            let acc = f32x4.splat(0);
            const c = (<usize>(ox * 2 - pw) << 2);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * w) << 2) + c;
              const a = v128.load(r);
              const b = v128.load(r, 16);
              acc = f32x4.add(acc, f32x4.add(v128.shuffle<f32>(a, b, 0, 2, 4, 6), v128.shuffle<f32>(a, b, 1, 3, 5, 7)));
            }
            v128.store(yr + (<usize>ox << 2), f32x4.div(acc, vdiv));
          }
        } else if (sw == 2 && kw == 3) {
          for (; ox + 4 <= ox1; ox += 4) {
            let acc = f32x4.splat(0);
            const c = (<usize>(ox * 2 - pw) << 2);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * w) << 2) + c;
              const a = v128.load(r);
              const b = v128.load(r, 16);
              const even = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
              const next = v128.shuffle<f32>(even, v128.load32_splat(r, 32), 1, 2, 3, 4);
              acc = f32x4.add(acc, f32x4.add(f32x4.add(even, v128.shuffle<f32>(a, b, 1, 3, 5, 7)), next));
            }
            v128.store(yr + (<usize>ox << 2), f32x4.div(acc, vdiv));
          }
        } else if (sw == 2) {
          const lastTap = kw - 1 - pw;
          for (; ox + 4 <= ox1 && ox * 2 + 7 + lastTap < w; ox += 4) {
            let acc = f32x4.splat(0);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * w) << 2) + (<usize>(ox * 2 - pw) << 2);
              for (let kx = 0; kx < kw; kx++) {
                const q = r + (<usize>kx << 2);
                acc = f32x4.add(acc, v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6));
              }
            }
            v128.store(yr + (<usize>ox << 2), f32x4.div(acc, vdiv));
          }
        } else if (sw == 1) {
          for (; ox + 4 <= ox1; ox += 4) {
            let acc = f32x4.splat(0);
            for (let ky = ky0; ky < ky1; ky++) {
              const r = row0 + (<usize>(ky * w) << 2) + (<usize>(ox - pw) << 2);
              for (let kx = 0; kx < kw; kx++) acc = f32x4.add(acc, v128.load(r + (<usize>kx << 2)));
            }
            v128.store(yr + (<usize>ox << 2), f32x4.div(acc, vdiv));
          }
        }
      }
      for (; ox < ox1; ox++) {
        const ix0 = ox * sw - pw;
        let sum: f32 = 0;
        for (let ky = ky0; ky < ky1; ky++) {
          const r = row0 + (<usize>(ky * w) << 2);
          for (let kx = 0; kx < kw; kx++) sum += ldf(r, ix0 + kx);
        }
        stf(yr, ox, sum / div);
      }
    }
  }
}

/** Sum of n floats at p: four SIMD accumulators' lanes, then a scalar tail. */
// @ts-ignore: decorator
@inline function sumf(p: usize, n: i32): f32 {
  let i = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(0);
    let b = f32x4.splat(0);
    for (; i + 8 <= n; i += 8) {
      a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
      b = f32x4.add(b, v128.load(p + (<usize>i << 2), 16));
    }
    for (; i + 4 <= n; i += 4) a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
    a = f32x4.add(a, b);
    s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  }
  for (; i < n; i++) s += ldf(p, i);
  return s;
}

/** Global average pooling (adaptive to 1×1): y[p] = mean of plane p's hw floats. */
export function f32_global_avgpool_nchw(x: usize, y: usize, planes: i32, hw: i32): void {
  const count: f32 = <f32>hw;
  for (let p = 0; p < planes; p++) stf(y, p, sumf(x + (<usize>(p * hw) << 2), hw) / count);
}

/** Adaptive average pooling to (oh, ow): PyTorch's bins [floor(o·in/out), ceil((o+1)·in/out)). */
export function f32_adaptive_avgpool2d_nchw(x: usize, y: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * h * w) << 2);
    const yp = y + (<usize>(p * oh * ow) << 2);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = (oy * h) / oh;
      const y1 = ((oy + 1) * h + oh - 1) / oh;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = (ox * w) / ow;
        const x1 = ((ox + 1) * w + ow - 1) / ow;
        let sum: f32 = 0;
        for (let iy = y0; iy < y1; iy++) sum += sumf(xp + (<usize>(iy * w + x0) << 2), x1 - x0);
        stf(yp, oy * ow + ox, sum / <f32>((y1 - y0) * (x1 - x0)));
      }
    }
  }
}
