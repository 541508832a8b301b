// BatchNorm2d on WebGPU, eval and training. A first pass (one thread per channel) finds each channel's mean
// and 1/sqrt(var + eps) — the batch's in training, updating the running statistics with PyTorch's momentum
// rule — into scratch; a second pass (one thread per value) applies them. The backward kernels share the
// same per-channel statistics pass.
import type { BatchNorm2dAttrs } from '../../../ops/types.js';
import type { KernelFactory, ParamHandle } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { consts, floatLiteral, programKernel } from './common.js';

const FIELDS = ['x', 'y', 'rm', 'rv', 'gamma', 'beta', 's', 'dy'];

// The backward nodes carry only the parameters they read (no bias; dγ not even the weight): absent ones bind 0.

/** Scratch per channel: mean, invstd, Σ dY, Σ dY·x̂ (the last two only in the backward). */
const STATS = 4;

function statsPass(a: BatchNorm2dAttrs, xs: readonly number[], updateRunning: boolean, withGrad: boolean): string {
  const [n, c, h, w] = xs;
  const m = n * h * w;
  return `${consts({ N: n, C: c, HW: h * w, TRAINING: a.training })}
const EPS: f32 = ${floatLiteral(a.eps)};
const MOMENTUM: f32 = ${floatLiteral(a.momentum)};
fn body(ch: u32) {
  var mean = m[u.rm + ch];
  var variance = m[u.rv + ch];
  if (TRAINING) {
    var sum: f32 = 0.0;
    for (var b: u32 = 0u; b < N; b++) { for (var j: u32 = 0u; j < HW; j++) { sum += m[u.x + (b * C + ch) * HW + j]; } }
    mean = sum / f32(${m});
    var sq: f32 = 0.0;
    for (var b: u32 = 0u; b < N; b++) {
      for (var j: u32 = 0u; j < HW; j++) { let d = m[u.x + (b * C + ch) * HW + j] - mean; sq += d * d; }
    }
    variance = sq / f32(${m});
    ${
      updateRunning
        ? `let unbiased = select(variance, sq / f32(${Math.max(m - 1, 1)}), ${m > 1});
    m[u.rm + ch] = (1.0 - MOMENTUM) * m[u.rm + ch] + MOMENTUM * mean;
    m[u.rv + ch] = (1.0 - MOMENTUM) * m[u.rv + ch] + MOMENTUM * unbiased;`
        : ''
    }
  }
  let invstd = 1.0 / sqrt(variance + EPS);
  let s = u.s + ch * ${STATS}u;
  m[s] = mean;
  m[s + 1u] = invstd;
  ${
    withGrad
      ? `var sdy: f32 = 0.0;
  var sdyx: f32 = 0.0;
  if (TRAINING) {
    for (var b: u32 = 0u; b < N; b++) {
      for (var j: u32 = 0u; j < HW; j++) {
        let k = (b * C + ch) * HW + j;
        sdy += m[u.dy + k];
        sdyx += m[u.dy + k] * (m[u.x + k] - mean) * invstd;
      }
    }
  }
  m[s + 2u] = sdy;
  m[s + 3u] = sdyx;`
      : ''
  }
}`;
}

const elementConsts = (xs: readonly number[]) => consts({ C: xs[1], HW: xs[2] * xs[3] });

function values(p: Readonly<Record<string, ParamHandle>>, x: number, y: number, s: number, dy: number): number[] {
  const at = (h: ParamHandle | undefined) => (h ? f(h.ptr) : 0);
  return [f(x), f(y), at(p.running_mean), at(p.running_var), at(p.weight), at(p.bias), f(s), f(dy)];
}

export const batchNorm2dWebGpu =
  (ctx: GpuContext): KernelFactory<'batchNorm2d'> =>
  ({ name, attrs, params, inputShapes: [xs] }) => {
    const total = xs[0] * xs[1] * xs[2] * xs[3];
    const apply = `${elementConsts(xs)}
fn body(i: u32) {
  let ch = (i / HW) % C;
  let s = u.s + ch * ${STATS}u;
  let scale = m[u.gamma + ch] * m[s + 1u];
  let shift = m[u.beta + ch] - m[s] * scale;
  m[u.y + i] = m[u.x + i] * scale + shift;
}`;
    return programKernel(
      ctx,
      `${name} batchNorm2d`,
      FIELDS,
      [
        { body: statsPass(attrs, xs, true, false), threads: xs[1] },
        { body: apply, threads: total },
      ],
      ([x], y, s) => values(params, x, y, s, 0),
      {
        scratchBytes: 4 * STATS * xs[1],
        after: attrs.training
          ? () => {
              params.running_mean.changed();
              params.running_var.changed();
            }
          : undefined,
      },
    );
  };

/** Training: dX = γ·invstd·(dY − mean(dY) − x̂·mean(dY·x̂)); eval: dX = dY·γ·invstd. Inputs: dY, X. */
export const batchNorm2dGradInputWebGpu =
  (ctx: GpuContext): KernelFactory<'batchNorm2dGradInput'> =>
  ({ name, attrs, params, inputShapes: [, xs] }) => {
    const total = xs[0] * xs[1] * xs[2] * xs[3];
    const count = xs[0] * xs[2] * xs[3];
    const apply = `${elementConsts(xs)}
const TRAINING: bool = ${attrs.training};
fn body(i: u32) {
  let ch = (i / HW) % C;
  let s = u.s + ch * ${STATS}u;
  let mean = m[s];
  let invstd = m[s + 1u];
  let gamma = m[u.gamma + ch];
  if (TRAINING) {
    let xhat = (m[u.x + i] - mean) * invstd;
    m[u.y + i] = gamma * invstd * (m[u.dy + i] - m[s + 2u] / f32(${count}) - (xhat * m[s + 3u]) / f32(${count}));
  } else {
    m[u.y + i] = m[u.dy + i] * gamma * invstd;
  }
}`;
    return programKernel(
      ctx,
      `${name} batchNorm2dGradInput`,
      FIELDS,
      [
        { body: statsPass(attrs, xs, false, true), threads: xs[1] },
        { body: apply, threads: total },
      ],
      ([dy, x], dx, s) => values(params, x, dx, s, dy),
      { scratchBytes: 4 * STATS * xs[1] },
    );
  };

/** dγ = Σ dY·x̂ per channel. Inputs: dY, X. */
export const batchNorm2dGradWeightWebGpu =
  (ctx: GpuContext): KernelFactory<'batchNorm2dGradWeight'> =>
  ({ name, attrs, params, inputShapes: [, xs] }) => {
    const [n, c, h, w] = xs;
    const reduce = `${consts({ N: n, C: c, HW: h * w })}
fn body(ch: u32) {
  let s = u.s + ch * ${STATS}u;
  let mean = m[s];
  let invstd = m[s + 1u];
  var acc: f32 = 0.0;
  for (var b: u32 = 0u; b < N; b++) {
    for (var j: u32 = 0u; j < HW; j++) { let k = (b * C + ch) * HW + j; acc += m[u.dy + k] * (m[u.x + k] - mean) * invstd; }
  }
  m[u.y + ch] = acc;
}`;
    return programKernel(
      ctx,
      `${name} batchNorm2dGradWeight`,
      FIELDS,
      [
        { body: statsPass(attrs, xs, false, false), threads: c },
        { body: reduce, threads: c },
      ],
      ([dy, x], dg, s) => values(params, x, dg, s, dy),
      { scratchBytes: 4 * STATS * c },
    );
  };
