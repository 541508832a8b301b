// Pooling backward, NCHW planes. In general these are scatters (each dY lands on input cells that
// overlapping windows share) and run scalar with dX zeroed first. Max pooling with non-overlapping
// windows (k = s, no padding or dilation) writes every covered cell instead, 2×2/2 four windows per
// v128 step (even/odd lane split, argmax by lane masks, interleave back).

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/**
 * Max-pool backward: each dY is added at its window's argmax, recomputed from X with the forward's
 * rule (first maximum in scan order wins; a NaN wins and stays), so no indices need saving.
 */
export function f32_maxpool2d_grad_nchw(
  dy: usize, x: usize, dx: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32,
): void {
  // Non-overlapping windows without padding or dilation (the common k = s pooling): each cell has at
  // most one window, so full windows need no bounds checks and write all their cells (dY or 0).
  const tiled = kh == sh && kw == sw && ph == 0 && pw == 0 && dh == 1 && dw == 1;
  const fullY = tiled ? min(h / kh, oh) : 0;
  const fullX = tiled ? min(w / kw, ow) : 0;
  // Cells outside the full windows (edges, ceil-mode windows) are zeroed first, then accumulated into.
  if (fullY * kh != h || fullX * kw != w) memory.fill(dx, 0, <usize>(planes * h * w) << 2);
  for (let p = 0; p < planes; p++) {
    const xp = at(x, p * h * w);
    const dxp = at(dx, p * h * w);
    const dyp = at(dy, p * oh * ow);
    for (let oy = 0; oy < fullY; oy++) {
      let ox = 0;
      if (ASC_FEATURE_SIMD) {
        if (kh == 2 && kw == 2) {
          const one = i32x4.splat(1);
          const two = i32x4.splat(2);
          const three = i32x4.splat(3);
          for (; ox + 4 <= fullX; ox += 4) {
            const r0 = at(xp, 2 * oy * w + 2 * ox);
            const r1 = at(r0, w);
            const p0 = v128.load(r0);
            const p1 = v128.load(r0, 16);
            const q0 = v128.load(r1);
            const q1 = v128.load(r1, 16);
            // Scan order (0,0), (0,1), (1,0), (1,1): a later cell wins when greater or NaN.
            let best = v128.shuffle<f32>(p0, p1, 0, 2, 4, 6);
            let sel = i32x4.splat(0);
            let v = v128.shuffle<f32>(p0, p1, 1, 3, 5, 7);
            let up = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
            best = v128.bitselect(v, best, up);
            sel = v128.bitselect(one, sel, up);
            v = v128.shuffle<f32>(q0, q1, 0, 2, 4, 6);
            up = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
            best = v128.bitselect(v, best, up);
            sel = v128.bitselect(two, sel, up);
            v = v128.shuffle<f32>(q0, q1, 1, 3, 5, 7);
            up = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
            sel = v128.bitselect(three, sel, up);
            const g = v128.load(at(dyp, oy * ow + ox));
            const ga = v128.and(g, i32x4.eq(sel, i32x4.splat(0)));
            const gb = v128.and(g, i32x4.eq(sel, one));
            const gc = v128.and(g, i32x4.eq(sel, two));
            const gd = v128.and(g, i32x4.eq(sel, three));
            const d0 = at(dxp, 2 * oy * w + 2 * ox);
            const d1 = at(d0, w);
            v128.store(d0, v128.shuffle<f32>(ga, gb, 0, 4, 1, 5));
            v128.store(d0, v128.shuffle<f32>(ga, gb, 2, 6, 3, 7), 16);
            v128.store(d1, v128.shuffle<f32>(gc, gd, 0, 4, 1, 5));
            v128.store(d1, v128.shuffle<f32>(gc, gd, 2, 6, 3, 7), 16);
          }
        }
      }
      for (; ox < fullX; ox++) {
        const base = oy * kh * w + ox * kw;
        let best = load<f32>(at(xp, base));
        let arg = base;
        for (let ky = 0; ky < kh; ky++) {
          const r = base + ky * w;
          for (let kx = 0; kx < kw; kx++) {
            const v = load<f32>(at(xp, r + kx));
            if (v > best || v != v) {
              best = v;
              arg = r + kx;
            }
            store<f32>(at(dxp, r + kx), 0);
          }
        }
        store<f32>(at(dxp, arg), load<f32>(at(dyp, oy * ow + ox)));
      }
    }
    for (let oy = 0; oy < oh; oy++) {
      const iy0 = oy * sh - ph;
      for (let ox = 0; ox < ow; ox++) {
        if (oy < fullY && ox < fullX) continue; // done above
        const ix0 = ox * sw - pw;
        let best: f32 = -Infinity;
        let arg = -1;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dw;
            if (ix < 0 || ix >= w) continue;
            const v = load<f32>(at(xp, iy * w + ix));
            if (arg < 0 || v > best || v != v) {
              best = v;
              arg = iy * w + ix;
            }
          }
        }
        if (arg >= 0) store<f32>(at(dxp, arg), load<f32>(at(dxp, arg)) + load<f32>(at(dyp, oy * ow + ox)));
      }
    }
  }
}

/** Average-pool backward with the forward's divisor (countPad: PyTorch's count_include_pad). */
export function f32_avgpool2d_grad_nchw(
  dy: usize, dx: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, countPad: i32,
): void {
  memory.fill(dx, 0, <usize>(planes * h * w) << 2);
  for (let p = 0; p < planes; p++) {
    const dxp = at(dx, p * h * w);
    const dyp = at(dy, p * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - ph;
      const y1p = min(y0 + kh, h + ph);
      const ys0 = max(y0, 0);
      const ys1 = min(y1p, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - pw;
        const x1p = min(x0 + kw, w + pw);
        const xs0 = max(x0, 0);
        const xs1 = min(x1p, w);
        const divisor = countPad != 0 ? (y1p - y0) * (x1p - x0) : (ys1 - ys0) * (xs1 - xs0);
        const g = load<f32>(at(dyp, oy * ow + ox)) / <f32>divisor;
        for (let iy = ys0; iy < ys1; iy++) {
          const row = at(dxp, iy * w);
          for (let ix = xs0; ix < xs1; ix++) store<f32>(at(row, ix), load<f32>(at(row, ix)) + g);
        }
      }
    }
  }
}

/** Adaptive average-pool backward: PyTorch's bins [floor(o·in/out), ceil((o+1)·in/out)). */
export function f32_adaptive_avgpool2d_grad_nchw(dy: usize, dx: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32): void {
  memory.fill(dx, 0, <usize>(planes * h * w) << 2);
  for (let p = 0; p < planes; p++) {
    const dxp = at(dx, p * h * w);
    const dyp = at(dy, p * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = (oy * h) / oh;
      const y1 = ((oy + 1) * h + oh - 1) / oh;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = (ox * w) / ow;
        const x1 = ((ox + 1) * w + ow - 1) / ow;
        const g = load<f32>(at(dyp, oy * ow + ox)) / <f32>((y1 - y0) * (x1 - x0));
        for (let iy = y0; iy < y1; iy++) {
          const row = at(dxp, iy * w);
          for (let ix = x0; ix < x1; ix++) store<f32>(at(row, ix), load<f32>(at(row, ix)) + g);
        }
      }
    }
  }
}
