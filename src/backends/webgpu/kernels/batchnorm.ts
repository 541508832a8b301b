// BatchNorm2d on WebGPU, eval and training. A first pass (one thread per channel) finds each channel's mean
// and 1/sqrt(var + eps) — the batch's in training, updating the running statistics with PyTorch's momentum
// rule — into scratch; a second pass (one thread per value) applies them. The backward kernels share the
// same per-channel statistics pass.
import type { BatchNorm2dAttrs } from '../../../ops/types.js';
import type { KernelFactory, ParamHandle } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { f32bits } from '../program.js';
import { type Shapes, consts, programKernel } from './common.js';

// eps and momentum travel as float bits beside the pointers, and the shapes (N, C, HW and the per-channel
// COUNT = N·HW) as uniforms too: one pipeline per pass kind, whatever the layer.
const FIELDS = ['x', 'y', 'rm', 'rv', 'gamma', 'beta', 's', 'dy', 'eps', 'momentum'];

// The backward nodes carry only the parameters they read (no bias; dγ not even the weight): absent ones bind 0.

/** Scratch per channel: mean, invstd, Σ dY, Σ dY·x̂ (the last two only in the backward). */
const STATS = 4;

function statsPass(a: BatchNorm2dAttrs, updateRunning: boolean, withGrad: boolean): string {
  return `${consts({ TRAINING: a.training })}
fn body(ch: u32) {
  var mean = m[u.rm + ch];
  var variance = m[u.rv + ch];
  if (TRAINING) {
    var sum: f32 = 0.0;
    for (var b: u32 = 0u; b < u.N; b++) { for (var j: u32 = 0u; j < u.HW; j++) { sum += m[u.x + (b * u.C + ch) * u.HW + j]; } }
    mean = sum / f32(u.COUNT);
    var sq: f32 = 0.0;
    for (var b: u32 = 0u; b < u.N; b++) {
      for (var j: u32 = 0u; j < u.HW; j++) { let d = m[u.x + (b * u.C + ch) * u.HW + j] - mean; sq += d * d; }
    }
    variance = sq / f32(u.COUNT);
    ${
      updateRunning
        ? `let momentum = bitcast<f32>(u.momentum);
    let unbiased = select(variance, sq / f32(max(u.COUNT, 2u) - 1u), u.COUNT > 1u);
    m[u.rm + ch] = (1.0 - momentum) * m[u.rm + ch] + momentum * mean;
    m[u.rv + ch] = (1.0 - momentum) * m[u.rv + ch] + momentum * unbiased;`
        : ''
    }
  }
  let invstd = 1.0 / sqrt(variance + bitcast<f32>(u.eps));
  let s = u.s + ch * ${STATS}u;
  m[s] = mean;
  m[s + 1u] = invstd;
  ${
    withGrad
      ? `var sdy: f32 = 0.0;
  var sdyx: f32 = 0.0;
  if (TRAINING) {
    for (var b: u32 = 0u; b < u.N; b++) {
      for (var j: u32 = 0u; j < u.HW; j++) {
        let k = (b * u.C + ch) * u.HW + j;
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

const bnShapes = ([n, c, h, w]: readonly number[]): Shapes => ({ N: n, C: c, HW: h * w, COUNT: n * h * w });

function values(
  a: BatchNorm2dAttrs,
  p: Readonly<Record<string, ParamHandle>>,
  x: number,
  y: number,
  s: number,
  dy: number,
): number[] {
  const at = (h: ParamHandle | undefined) => (h ? f(h.ptr) : 0);
  return [
    f(x),
    f(y),
    at(p.running_mean),
    at(p.running_var),
    at(p.weight),
    at(p.bias),
    f(s),
    f(dy),
    f32bits(a.eps),
    f32bits(a.momentum),
  ];
}

export const batchNorm2dWebGpu =
  (ctx: GpuContext): KernelFactory<'batchNorm2d'> =>
  ({ name, attrs, params, inputShapes: [xs] }) => {
    const total = xs[0] * xs[1] * xs[2] * xs[3];
    const apply = `fn body(i: u32) {
  let ch = (i / u.HW) % u.C;
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
        { body: statsPass(attrs, true, false), threads: xs[1] },
        { body: apply, threads: total },
      ],
      ([x], y, s) => values(attrs, params, x, y, s, 0),
      {
        scratchBytes: 4 * STATS * xs[1],
        shapes: bnShapes(xs),
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
    const apply = `const TRAINING: bool = ${attrs.training};
fn body(i: u32) {
  let ch = (i / u.HW) % u.C;
  let s = u.s + ch * ${STATS}u;
  let mean = m[s];
  let invstd = m[s + 1u];
  let gamma = m[u.gamma + ch];
  if (TRAINING) {
    let xhat = (m[u.x + i] - mean) * invstd;
    m[u.y + i] = gamma * invstd * (m[u.dy + i] - m[s + 2u] / f32(u.COUNT) - (xhat * m[s + 3u]) / f32(u.COUNT));
  } else {
    m[u.y + i] = m[u.dy + i] * gamma * invstd;
  }
}`;
    return programKernel(
      ctx,
      `${name} batchNorm2dGradInput`,
      FIELDS,
      [
        { body: statsPass(attrs, false, true), threads: xs[1] },
        { body: apply, threads: total },
      ],
      ([dy, x], dx, s) => values(attrs, params, x, dx, s, dy),
      { scratchBytes: 4 * STATS * xs[1], shapes: bnShapes(xs) },
    );
  };

/** dγ = Σ dY·x̂ per channel. Inputs: dY, X. */
export const batchNorm2dGradWeightWebGpu =
  (ctx: GpuContext): KernelFactory<'batchNorm2dGradWeight'> =>
  ({ name, attrs, params, inputShapes: [, xs] }) => {
    const c = xs[1];
    const reduce = `fn body(ch: u32) {
  let s = u.s + ch * ${STATS}u;
  let mean = m[s];
  let invstd = m[s + 1u];
  var acc: f32 = 0.0;
  for (var b: u32 = 0u; b < u.N; b++) {
    for (var j: u32 = 0u; j < u.HW; j++) { let k = (b * u.C + ch) * u.HW + j; acc += m[u.dy + k] * (m[u.x + k] - mean) * invstd; }
  }
  m[u.y + ch] = acc;
}`;
    return programKernel(
      ctx,
      `${name} batchNorm2dGradWeight`,
      FIELDS,
      [
        { body: statsPass(attrs, false, false), threads: c },
        { body: reduce, threads: c },
      ],
      ([dy, x], dg, s) => values(attrs, params, x, dg, s, dy),
      { scratchBytes: 4 * STATS * c, shapes: bnShapes(xs) },
    );
  };
