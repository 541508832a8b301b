// Depthwise convolution backward (one input channel per group, any channel multiplier m), NCHW,
// direct: a GEMM per channel would have K = kh·kw. Per kernel tap the valid output columns are one
// contiguous range, so inner loops have no bounds checks and run 4 lanes wide when the stride is 1.

import { madd4 } from './mathf';
import { highOut, lowOut } from './out_range';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** dW[co][ky][kx] = Σ_{b, oy, ox} dY[b][co][oy][ox] · X[b][co / m][iy][ix]; dw holds cout·kh·kw floats. */
export function f32_dwconv2d_grad_weight_nchw(
  dy: usize, x: usize, dwt: usize, n: i32, cin: i32, m: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, co0: i32, co1: i32,
): void {
  const cout = cin * m;
  for (let co = co0; co < co1; co++) {
    const ci = co / m;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const offX = kx * dw - pl;
        const lo = min(lowOut(offX, sw), ow);
        const hi = max(highOut(offX, sw, w, ow), lo);
        let total: f64 = 0;
        for (let b = 0; b < n; b++) {
          const gp = at(dy, (b * cout + co) * oh * ow);
          const xp = at(x, (b * cin + ci) * h * w);
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            const g = at(gp, oy * ow);
            const xr = at(xp, iy * w + offX);
            let ox = lo;
            let s: f32 = 0;
            if (ASC_FEATURE_SIMD) {
              let a = f32x4.splat(0);
              if (sw == 1) {
                for (; ox + 4 <= hi; ox += 4) a = madd4(v128.load(at(g, ox)), v128.load(at(xr, ox)), a);
              } else if (sw == 2) {
                // Even lanes of 8 consecutive inputs, all inside the row (2·ox + 7 + offX < w).
                for (; ox + 4 <= hi && 2 * ox + 7 + offX < w; ox += 4) {
                  const q = at(xr, 2 * ox);
                  a = madd4(v128.load(at(g, ox)), v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6), a);
                }
              }
              s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
            }
            for (; ox < hi; ox++) s += load<f32>(at(g, ox)) * load<f32>(at(xr, ox * sw));
            total += <f64>s;
          }
        }
        store<f32>(at(dwt, (co * kh + ky) * kw + kx), <f32>total);
      }
    }
  }
}

/** dX[b][ci] = Σ over the channel's m outputs and taps of W · dY scattered back; dx is overwritten. */
export function f32_dwconv2d_grad_input_nchw(
  dy: usize, wt: usize, dx: usize, n: i32, cin: i32, m: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
): void {
  memory.fill(dx, 0, <usize>(n * cin * h * w) << 2);
  const cout = cin * m;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const ci = co / m;
      const gp = at(dy, (b * cout + co) * oh * ow);
      const xp = at(dx, (b * cin + ci) * h * w);
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const wv = load<f32>(at(wt, (co * kh + ky) * kw + kx));
          const offX = kx * dw - pl;
          const lo = min(lowOut(offX, sw), ow);
          const hi = max(highOut(offX, sw, w, ow), lo);
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            const g = at(gp, oy * ow);
            const d = at(xp, iy * w + offX);
            let ox = lo;
            if (sw == 1) {
              if (ASC_FEATURE_SIMD) {
                const vw = f32x4.splat(wv);
                for (; ox + 4 <= hi; ox += 4) v128.store(at(d, ox), madd4(vw, v128.load(at(g, ox)), v128.load(at(d, ox))));
              }
              for (; ox < hi; ox++) store<f32>(at(d, ox), load<f32>(at(d, ox)) + wv * load<f32>(at(g, ox)));
            } else {
              if (ASC_FEATURE_SIMD) {
                if (sw == 2) {
                  // w·dY into the even lanes of 8 consecutive cells (odd lanes get + 0), inside the row.
                  const vw = f32x4.splat(wv);
                  const zero = f32x4.splat(0);
                  for (; ox + 4 <= hi && 2 * ox + 7 + offX < w; ox += 4) {
                    const v = f32x4.mul(vw, v128.load(at(g, ox)));
                    const q = at(d, 2 * ox);
                    v128.store(q, f32x4.add(v128.load(q), v128.shuffle<f32>(v, zero, 0, 4, 1, 4)));
                    v128.store(q, f32x4.add(v128.load(q, 16), v128.shuffle<f32>(v, zero, 2, 4, 3, 4)), 16);
                  }
                }
              }
              for (; ox < hi; ox++) store<f32>(at(d, ox * sw), load<f32>(at(d, ox * sw)) + wv * load<f32>(at(g, ox)));
            }
          }
        }
      }
    }
  }
}
