// Image kernels for the data pipeline, on planar float32 images (CHW, one plane per channel).
// Images before ToTensor hold uint8 values as floats; `round` != 0 rounds results half-to-even
// and clamps to [0, 255] like torchvision's uint8 tensor path (torch.round, then the cast).
// Every SIMD loop has a scalar tail; a build without SIMD runs the scalar loops only.

/** uint8 HWC (interleaved, as decoded) -> float32 CHW planes, values unchanged (0..255). */
export function u8_hwc_to_f32_chw(src: usize, dst: usize, h: i32, w: i32, c: i32): void {
  const hw = h * w;
  if (c == 1) {
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 16 <= hw; i += 16) {
        const v = v128.load(src + <usize>i);
        const lo = i16x8.extend_low_i8x16_u(v);
        const hi = i16x8.extend_high_i8x16_u(v);
        const o = dst + (<usize>i << 2);
        v128.store(o, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)));
        v128.store(o, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), 16);
        v128.store(o, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), 32);
        v128.store(o, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), 48);
      }
    }
    for (; i < hw; i++) store<f32>(dst + (<usize>i << 2), <f32>load<u8>(src + <usize>i));
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    const plane = dst + (<usize>(ch * hw) << 2);
    for (let i = 0; i < hw; i++) store<f32>(plane + (<usize>i << 2), <f32>load<u8>(src + <usize>(i * c + ch)));
  }
}

/**
 * y = x * scale[ch] + bias[ch] per channel plane. mode 0: no clamp; 1: clamp to [lo, hi];
 * 2: clamp then truncate toward zero (torchvision's _blend cast for uint8 images);
 * 3: y = (x - bias[ch]) / scale[ch], rounded exactly as torch's sub then div (ToTensor, Normalize).
 */
export function f32_chw_scale_bias(x: usize, y: usize, c: i32, hw: i32, scale: usize, bias: usize, lo: f32, hi: f32, mode: i32): void {
  for (let ch = 0; ch < c; ch++) {
    const s = load<f32>(scale + (<usize>ch << 2));
    const b = load<f32>(bias + (<usize>ch << 2));
    const xp = x + (<usize>(ch * hw) << 2);
    const yp = y + (<usize>(ch * hw) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      const vb = f32x4.splat(b);
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      if (mode == 3) {
        for (; i + 4 <= hw; i += 4) {
          const o = <usize>i << 2;
          v128.store(yp + o, f32x4.div(f32x4.sub(v128.load(xp + o), vb), vs));
        }
      }
      for (; i + 4 <= hw; i += 4) {
        const o = <usize>i << 2;
        let v = f32x4.add(f32x4.mul(v128.load(xp + o), vs), vb);
        if (mode >= 1) v = f32x4.pmin(f32x4.pmax(v, vlo), vhi);
        if (mode == 2) v = f32x4.trunc(v);
        v128.store(yp + o, v);
      }
    }
    for (; i < hw; i++) {
      const o = <usize>i << 2;
      if (mode == 3) {
        store<f32>(yp + o, (load<f32>(xp + o) - b) / s);
        continue;
      }
      let v = load<f32>(xp + o) * s + b;
      if (mode >= 1) v = v < lo ? lo : v > hi ? hi : v;
      if (mode == 2) v = trunc<f32>(v);
      store<f32>(yp + o, v);
    }
  }
}

/** Mirror left-right: dst[ch][y][x] = src[ch][y][w-1-x]. */
export function f32_chw_flip_h(src: usize, dst: usize, c: i32, h: i32, w: i32): void {
  const rows = c * h;
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * w) << 2);
    const d = dst + (<usize>(r * w) << 2);
    let x = 0;
    if (ASC_FEATURE_SIMD) {
      for (; x + 4 <= w; x += 4) {
        const v = v128.load(s + (<usize>(w - 4 - x) << 2));
        v128.store(d + (<usize>x << 2), v128.shuffle<f32>(v, v, 3, 2, 1, 0));
      }
    }
    for (; x < w; x++) store<f32>(d + (<usize>x << 2), load<f32>(s + (<usize>(w - 1 - x) << 2)));
  }
}

/** Mirror top-bottom: whole rows move, so a row copy is the fastest form on every build. */
export function f32_chw_flip_v(src: usize, dst: usize, c: i32, h: i32, w: i32): void {
  const rowBytes = <usize>w << 2;
  for (let ch = 0; ch < c; ch++) {
    const base = <usize>(ch * h * w) << 2;
    for (let y = 0; y < h; y++) {
      memory.copy(dst + base + <usize>y * rowBytes, src + base + <usize>(h - 1 - y) * rowBytes, rowBytes);
    }
  }
}

// Source index and weight of output position o for PyTorch's bilinear (align_corners=False, no antialias).
@inline function linearTable(inSize: i32, outSize: i32, i0: usize, i1: usize, lam: usize): void {
  const scale: f32 = <f32>inSize / <f32>outSize;
  for (let o = 0; o < outSize; o++) {
    let r: f32 = scale * (<f32>o + 0.5) - 0.5;
    if (r < 0) r = 0;
    let a = <i32>r;
    if (a > inSize - 1) a = inSize - 1;
    const b = a < inSize - 1 ? a + 1 : a;
    let l: f32 = r - <f32>a;
    if (l > 1) l = 1;
    store<i32>(i0 + (<usize>o << 2), a);
    store<i32>(i1 + (<usize>o << 2), b);
    store<f32>(lam + (<usize>o << 2), l);
  }
}

/** Scratch bytes f32_chw_resize_bilinear needs. */
export function resize_bilinear_scratch_bytes(ch: i32, oh: i32, ow: i32): i32 {
  return (ow * 3 + oh * 3 + ch * ow + 8) << 2;
}

/**
 * Bilinear resize of the window (top, left, ch x cw) of each ih x iw plane to oh x ow, as
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=False):
 * a horizontal pass over the window's rows, then a vertical blend of two rows (SIMD across x).
 */
export function f32_chw_resize_bilinear(
  src: usize, dst: usize, c: i32, ih: i32, iw: i32, top: i32, left: i32, ch: i32, cw: i32, oh: i32, ow: i32, scratch: usize, round: i32,
): void {
  const xi0 = scratch;
  const xi1 = xi0 + (<usize>ow << 2);
  const xl = xi1 + (<usize>ow << 2);
  const yi0 = xl + (<usize>ow << 2);
  const yi1 = yi0 + (<usize>oh << 2);
  const yl = yi1 + (<usize>oh << 2);
  const tmp = (yl + (<usize>oh << 2) + 15) & ~(<usize>15);
  linearTable(cw, ow, xi0, xi1, xl);
  linearTable(ch, oh, yi0, yi1, yl);
  for (let p = 0; p < c; p++) {
    const plane = src + (<usize>(p * ih * iw + top * iw + left) << 2);
    for (let y = 0; y < ch; y++) {
      const row = plane + (<usize>(y * iw) << 2);
      const t = tmp + (<usize>(y * ow) << 2);
      for (let x = 0; x < ow; x++) {
        const o = <usize>x << 2;
        const l1 = load<f32>(xl + o);
        const l0: f32 = 1 - l1;
        const a = load<f32>(row + (<usize>load<i32>(xi0 + o) << 2));
        const b = load<f32>(row + (<usize>load<i32>(xi1 + o) << 2));
        store<f32>(t + o, l0 * a + l1 * b);
      }
    }
    const out = dst + (<usize>(p * oh * ow) << 2);
    for (let y = 0; y < oh; y++) {
      const o = <usize>y << 2;
      const h1 = load<f32>(yl + o);
      const h0: f32 = 1 - h1;
      const r0 = tmp + (<usize>(load<i32>(yi0 + o) * ow) << 2);
      const r1 = tmp + (<usize>(load<i32>(yi1 + o) * ow) << 2);
      const d = out + (<usize>(y * ow) << 2);
      let x = 0;
      if (ASC_FEATURE_SIMD) {
        const v0 = f32x4.splat(h0);
        const v1 = f32x4.splat(h1);
        const vmax = f32x4.splat(255);
        const vzero = f32x4.splat(0);
        for (; x + 4 <= ow; x += 4) {
          const q = <usize>x << 2;
          let v = f32x4.add(f32x4.mul(v0, v128.load(r0 + q)), f32x4.mul(v1, v128.load(r1 + q)));
          if (round) v = f32x4.pmin(f32x4.pmax(f32x4.nearest(v), vzero), vmax);
          v128.store(d + q, v);
        }
      }
      for (; x < ow; x++) {
        const q = <usize>x << 2;
        let v: f32 = h0 * load<f32>(r0 + q) + h1 * load<f32>(r1 + q);
        if (round) {
          v = nearest<f32>(v);
          v = v < 0 ? 0 : v > 255 ? 255 : v;
        }
        store<f32>(d + q, v);
      }
    }
  }
}

/** Scratch bytes f32_chw_affine needs. */
export function affine_scratch_bytes(ow: i32): i32 {
  return (ow * 11 + 8) << 2;
}

/**
 * Affine warp as torchvision's tensor path (_gen_affine_grid + grid_sample, align_corners=False,
 * zeros padding, then the fill blend with a sampled all-ones mask). `theta` holds 6 f32: the inverse
 * matrix already divided by (0.5 iw, 0.5 ih), applied to output pixel centres relative to the middle.
 * bilinear 0 = nearest (half-to-even, as nearbyint). `fill` holds one value per channel.
 */
export function f32_chw_affine(
  src: usize, dst: usize, c: i32, ih: i32, iw: i32, oh: i32, ow: i32, theta: usize, bilinear: i32, fill: usize, round: i32, scratch: usize,
): void {
  const t0 = load<f32>(theta), t1 = load<f32>(theta, 4), t2 = load<f32>(theta, 8);
  const t3 = load<f32>(theta, 12), t4 = load<f32>(theta, 16), t5 = load<f32>(theta, 20);
  const fw = <f32>iw, fh = <f32>ih;
  const n = <usize>ow << 2;
  const gx = (scratch + 15) & ~(<usize>15);
  const gy = gx + n;
  const o0 = gy + n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
  const w0 = o3 + n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n, wm = w3 + n;
  const plane = ih * iw;
  for (let oy = 0; oy < oh; oy++) {
    const by: f32 = <f32>oy - <f32>oh * 0.5 + 0.5;
    // Source coordinates of the row, SIMD over x (the multiply-adds are the only vector work here).
    let x = 0;
    if (ASC_FEATURE_SIMD) {
      const va = f32x4.splat(t0), vb = f32x4.splat(t1 * by + t2);
      const vc = f32x4.splat(t3), vd = f32x4.splat(t4 * by + t5);
      const vw = f32x4.splat(fw), vh = f32x4.splat(fh), one = f32x4.splat(1), half = f32x4.splat(0.5);
      const base0: f32 = -<f32>ow * 0.5 + 0.5;
      for (; x + 4 <= ow; x += 4) {
        const fx: f32 = <f32>x + base0;
        const bx = f32x4(fx, fx + 1, fx + 2, fx + 3);
        const nx = f32x4.add(f32x4.mul(bx, va), vb);
        const ny = f32x4.add(f32x4.mul(bx, vc), vd);
        v128.store(gx + (<usize>x << 2), f32x4.mul(f32x4.sub(f32x4.mul(f32x4.add(nx, one), vw), one), half));
        v128.store(gy + (<usize>x << 2), f32x4.mul(f32x4.sub(f32x4.mul(f32x4.add(ny, one), vh), one), half));
      }
    }
    for (; x < ow; x++) {
      const bx: f32 = <f32>x - <f32>ow * 0.5 + 0.5;
      const nx: f32 = bx * t0 + (t1 * by + t2);
      const ny: f32 = bx * t3 + (t4 * by + t5);
      store<f32>(gx + (<usize>x << 2), ((nx + 1) * fw - 1) * 0.5);
      store<f32>(gy + (<usize>x << 2), ((ny + 1) * fh - 1) * 0.5);
    }
    // Corner offsets and weights; corners outside the image get weight 0 (zeros padding).
    x = 0;
    if (ASC_FEATURE_SIMD) {
      const viw = i32x4.splat(iw), vih = i32x4.splat(ih), izero = i32x4.splat(0), ione = i32x4.splat(1), fone = f32x4.splat(1);
      for (; x + 4 <= ow; x += 4) {
        const q = <usize>x << 2;
        const ix = v128.load(gx + q);
        const iy = v128.load(gy + q);
        if (bilinear) {
          const fx0 = f32x4.floor(ix), fy0 = f32x4.floor(iy);
          const x0 = i32x4.trunc_sat_f32x4_s(fx0), y0 = i32x4.trunc_sat_f32x4_s(fy0);
          const x1 = i32x4.add(x0, ione), y1 = i32x4.add(y0, ione);
          const e = f32x4.sub(f32x4.add(fx0, fone), ix), wst = f32x4.sub(ix, fx0);
          const s = f32x4.sub(f32x4.add(fy0, fone), iy), nth = f32x4.sub(iy, fy0);
          const inX0 = v128.and(i32x4.ge_s(x0, izero), i32x4.lt_s(x0, viw)), inX1 = v128.and(i32x4.ge_s(x1, izero), i32x4.lt_s(x1, viw));
          const inY0 = v128.and(i32x4.ge_s(y0, izero), i32x4.lt_s(y0, vih)), inY1 = v128.and(i32x4.ge_s(y1, izero), i32x4.lt_s(y1, vih));
          const m0 = v128.and(inX0, inY0), m1 = v128.and(inX1, inY0), m2 = v128.and(inX0, inY1), m3 = v128.and(inX1, inY1);
          const r0 = i32x4.mul(y0, viw), r1 = i32x4.mul(y1, viw);
          v128.store(o0 + q, v128.and(i32x4.add(r0, x0), m0));
          v128.store(o1 + q, v128.and(i32x4.add(r0, x1), m1));
          v128.store(o2 + q, v128.and(i32x4.add(r1, x0), m2));
          v128.store(o3 + q, v128.and(i32x4.add(r1, x1), m3));
          const a = v128.and(f32x4.mul(e, s), m0), b = v128.and(f32x4.mul(wst, s), m1);
          const cc = v128.and(f32x4.mul(e, nth), m2), d = v128.and(f32x4.mul(wst, nth), m3);
          v128.store(w0 + q, a);
          v128.store(w1 + q, b);
          v128.store(w2 + q, cc);
          v128.store(w3 + q, d);
          v128.store(wm + q, f32x4.add(f32x4.add(f32x4.add(a, b), cc), d));
        } else {
          const xn = i32x4.trunc_sat_f32x4_s(f32x4.nearest(ix)), yn = i32x4.trunc_sat_f32x4_s(f32x4.nearest(iy));
          const inside = v128.and(v128.and(i32x4.ge_s(xn, izero), i32x4.lt_s(xn, viw)), v128.and(i32x4.ge_s(yn, izero), i32x4.lt_s(yn, vih)));
          v128.store(o0 + q, v128.and(i32x4.add(i32x4.mul(yn, viw), xn), inside));
          v128.store(w0 + q, v128.and(fone, inside));
        }
      }
    }
    for (; x < ow; x++) {
      const q = <usize>x << 2;
      const ix = load<f32>(gx + q);
      const iy = load<f32>(gy + q);
      if (bilinear) {
        const fx0 = floor<f32>(ix), fy0 = floor<f32>(iy);
        const x0 = <i32>fx0, y0 = <i32>fy0, x1 = x0 + 1, y1 = y0 + 1;
        const e: f32 = fx0 + 1 - ix, wst: f32 = ix - fx0;
        const s: f32 = fy0 + 1 - iy, nth: f32 = iy - fy0;
        const inX0 = x0 >= 0 && x0 < iw, inX1 = x1 >= 0 && x1 < iw;
        const inY0 = y0 >= 0 && y0 < ih, inY1 = y1 >= 0 && y1 < ih;
        const a: f32 = inX0 && inY0 ? e * s : 0;
        const b: f32 = inX1 && inY0 ? wst * s : 0;
        const cc: f32 = inX0 && inY1 ? e * nth : 0;
        const d: f32 = inX1 && inY1 ? wst * nth : 0;
        store<i32>(o0 + q, inX0 && inY0 ? y0 * iw + x0 : 0);
        store<i32>(o1 + q, inX1 && inY0 ? y0 * iw + x1 : 0);
        store<i32>(o2 + q, inX0 && inY1 ? y1 * iw + x0 : 0);
        store<i32>(o3 + q, inX1 && inY1 ? y1 * iw + x1 : 0);
        store<f32>(w0 + q, a);
        store<f32>(w1 + q, b);
        store<f32>(w2 + q, cc);
        store<f32>(w3 + q, d);
        store<f32>(wm + q, a + b + cc + d);
      } else {
        const xn = <i32>nearest<f32>(ix), yn = <i32>nearest<f32>(iy);
        const inside = xn >= 0 && xn < iw && yn >= 0 && yn < ih;
        store<i32>(o0 + q, inside ? yn * iw + xn : 0);
        store<f32>(w0 + q, inside ? 1 : 0);
      }
    }
    for (let p = 0; p < c; p++) {
      const sp = src + (<usize>(p * plane) << 2);
      const dp = dst + (<usize>((p * oh + oy) * ow) << 2);
      const f = load<f32>(fill + (<usize>p << 2));
      x = 0;
      if (ASC_FEATURE_SIMD) {
        const vf = f32x4.splat(f), one = f32x4.splat(1), vzero = f32x4.splat(0), vmax = f32x4.splat(255);
        for (; x + 4 <= ow; x += 4) {
          const q = <usize>x << 2;
          let v: v128;
          let m: v128;
          if (bilinear) {
            v = f32x4.mul(gather4(sp, o0 + q), v128.load(w0 + q));
            v = f32x4.add(v, f32x4.mul(gather4(sp, o1 + q), v128.load(w1 + q)));
            v = f32x4.add(v, f32x4.mul(gather4(sp, o2 + q), v128.load(w2 + q)));
            v = f32x4.add(v, f32x4.mul(gather4(sp, o3 + q), v128.load(w3 + q)));
            m = v128.load(wm + q);
            v = f32x4.add(f32x4.mul(v, m), f32x4.mul(f32x4.sub(one, m), vf));
          } else {
            m = v128.load(w0 + q);
            v = v128.bitselect(gather4(sp, o0 + q), vf, f32x4.ge(m, f32x4.splat(0.5)));
          }
          if (round) v = f32x4.pmin(f32x4.pmax(f32x4.nearest(v), vzero), vmax);
          v128.store(dp + q, v);
        }
      }
      for (; x < ow; x++) {
        const q = <usize>x << 2;
        let v: f32;
        if (bilinear) {
          v = load<f32>(sp + (<usize>load<i32>(o0 + q) << 2)) * load<f32>(w0 + q);
          v += load<f32>(sp + (<usize>load<i32>(o1 + q) << 2)) * load<f32>(w1 + q);
          v += load<f32>(sp + (<usize>load<i32>(o2 + q) << 2)) * load<f32>(w2 + q);
          v += load<f32>(sp + (<usize>load<i32>(o3 + q) << 2)) * load<f32>(w3 + q);
          const m = load<f32>(wm + q);
          v = v * m + (1 - m) * f;
        } else {
          v = load<f32>(w0 + q) >= 0.5 ? load<f32>(sp + (<usize>load<i32>(o0 + q) << 2)) : f;
        }
        if (round) {
          v = nearest<f32>(v);
          v = v < 0 ? 0 : v > 255 ? 255 : v;
        }
        store<f32>(dp + q, v);
      }
    }
  }
}

// Four scalar loads into one vector: wasm SIMD has no gather.
@inline function gather4(plane: usize, offsets: usize): v128 {
  let v = f32x4.splat(load<f32>(plane + (<usize>load<i32>(offsets) << 2)));
  v = f32x4.replace_lane(v, 1, load<f32>(plane + (<usize>load<i32>(offsets, 4) << 2)));
  v = f32x4.replace_lane(v, 2, load<f32>(plane + (<usize>load<i32>(offsets, 8) << 2)));
  return f32x4.replace_lane(v, 3, load<f32>(plane + (<usize>load<i32>(offsets, 12) << 2)));
}
