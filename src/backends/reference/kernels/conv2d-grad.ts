import type { HostArena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';

/** dX: every dY scattered back through the window it came from (direct loops, PyTorch's definition). */
export const conv2dGradInputReference =
  (arena: HostArena): KernelFactory<'conv2dGradInput'> =>
  ({ attrs, params, inputShapes: [dys], outputShape: xs }) => {
    const a = attrs;
    const [n, cin, h, w] = xs;
    const [, cout, oh, ow] = dys;
    const [kh, kw] = a.kernel;
    const cinG = cin / a.groups;
    const coutG = cout / a.groups;
    return {
      scratchBytes: 0,
      run([dyp], dxp) {
        const dy = arena.f32(dyp, n * cout * oh * ow);
        const dx = arena.f32(dxp, n * cin * h * w);
        const weight = arena.param(params.weight);
        const acc = new Float64Array(dx.length);
        for (let b = 0; b < n; b++) {
          for (let co = 0; co < cout; co++) {
            const g = Math.floor(co / coutG);
            for (let oy = 0; oy < oh; oy++) {
              for (let ox = 0; ox < ow; ox++) {
                const d = dy[((b * cout + co) * oh + oy) * ow + ox];
                for (let ci = 0; ci < cinG; ci++) {
                  const c = g * cinG + ci;
                  for (let ky = 0; ky < kh; ky++) {
                    const iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                    if (iy < 0 || iy >= h) continue;
                    for (let kx = 0; kx < kw; kx++) {
                      const ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                      if (ix < 0 || ix >= w) continue;
                      acc[((b * cin + c) * h + iy) * w + ix] += d * weight[((co * cinG + ci) * kh + ky) * kw + kx];
                    }
                  }
                }
              }
            }
          }
        }
        dx.set(acc);
      },
    };
  };

/** dW[co, ci, ky, kx] = Σ_{n, oy, ox} dY · X at the tap's input position. Inputs: dY, X. */
export const conv2dGradWeightReference =
  (arena: HostArena): KernelFactory<'conv2dGradWeight'> =>
  ({ attrs, inputShapes: [dys, xs] }) => {
    const a = attrs;
    const [n, cin, h, w] = xs;
    const [, cout, oh, ow] = dys;
    const [kh, kw] = a.kernel;
    const cinG = cin / a.groups;
    const coutG = cout / a.groups;
    return {
      scratchBytes: 0,
      run([dyp, xp], dwp) {
        const dy = arena.f32(dyp, n * cout * oh * ow);
        const x = arena.f32(xp, n * cin * h * w);
        const dw = arena.f32(dwp, cout * cinG * kh * kw);
        for (let co = 0; co < cout; co++) {
          const g = Math.floor(co / coutG);
          for (let ci = 0; ci < cinG; ci++) {
            const c = g * cinG + ci;
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                let sum = 0;
                for (let b = 0; b < n; b++) {
                  for (let oy = 0; oy < oh; oy++) {
                    const iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                    if (iy < 0 || iy >= h) continue;
                    for (let ox = 0; ox < ow; ox++) {
                      const ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                      if (ix < 0 || ix >= w) continue;
                      sum += dy[((b * cout + co) * oh + oy) * ow + ox] * x[((b * cin + c) * h + iy) * w + ix];
                    }
                  }
                }
                dw[((co * cinG + ci) * kh + ky) * kw + kx] = sum;
              }
            }
          }
        }
      },
    };
  };
