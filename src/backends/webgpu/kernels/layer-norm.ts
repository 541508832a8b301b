// Layer normalization on WebGPU (src/ops/layer-norm.ts): rows of COLS values, each normalized by its own
// mean and biased variance (two passes, as the reference), then scaled and shifted per column. The forward
// and the input gradient run one invocation per row; the weight gradient first writes each row's mean and
// 1/sqrt(var + eps) into scratch, then sums one column per invocation.
import { sizeOf } from '../../../core/shape.js';
import type { LayerNormAttrs } from '../../../ops/types.js';
import type { KernelFactory, ParamHandle } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { f32bits } from '../program.js';
import { type Shapes, consts, programKernel } from './common.js';

/**
 * Whether the layer has a weight and bias picks code, so it is compiled in; the row length, the row count
 * and eps are uniforms (`u.COLS`, `u.ROWS`, `u.EPS` as float bits): one pipeline per pass, whatever the shape.
 */
function layerShapes(a: LayerNormAttrs, xs: readonly number[]): { rows: number; cols: number; text: string; shapes: Shapes } {
  const cols = sizeOf(a.normalizedShape);
  const rows = cols === 0 ? 0 : sizeOf(xs) / cols;
  return {
    rows,
    cols,
    text: consts({ AFFINE: a.affine }),
    shapes: { COLS: cols, ROWS: rows, EPS: f32bits(a.eps) },
  };
}

/** `fn rowMean(base)` and `fn rowRstd(base, mean)`: the row starting at u.x + base. */
const statsWgsl = `fn rowMean(base: u32) -> f32 {
  var s: f32 = 0.0;
  for (var j: u32 = 0u; j < u.COLS; j++) { s += m[u.x + base + j]; }
  return s / f32(u.COLS);
}
fn rowRstd(base: u32, mean: f32) -> f32 {
  var v: f32 = 0.0;
  for (var j: u32 = 0u; j < u.COLS; j++) { let d = m[u.x + base + j] - mean; v += d * d; }
  return 1.0 / sqrt(v / f32(u.COLS) + bitcast<f32>(u.EPS));
}`;

/** Absent parameters (no affine; the weight gradient reads none) bind offset 0 and are never read. */
const at = (h: ParamHandle | undefined): number => (h ? f(h.ptr) : 0);

export const layerNormWebGpu =
  (ctx: GpuContext): KernelFactory<'layerNorm'> =>
  ({ name, attrs, params, inputShapes: [xs] }) => {
    const { rows, text, shapes } = layerShapes(attrs, xs);
    const body = `${text}
${statsWgsl}
fn body(r: u32) {
  let base = r * u.COLS;
  let mean = rowMean(base);
  let rstd = rowRstd(base, mean);
  for (var j: u32 = 0u; j < u.COLS; j++) {
    let h = (m[u.x + base + j] - mean) * rstd;
    if (AFFINE) { m[u.y + base + j] = h * m[u.w + j] + m[u.b + j]; } else { m[u.y + base + j] = h; }
  }
}`;
    return programKernel(
      ctx,
      `${name} layerNorm`,
      ['x', 'y', 'w', 'b'],
      [{ body, threads: rows }],
      ([x], y) => [f(x), f(y), at(params.weight), at(params.bias)],
      { shapes },
    );
  };

/** dX = rstd·(g − mean(g) − x̂·mean(g·x̂)) per row, g = dY·w (dY without affine). Inputs: dY, X. */
export const layerNormGradInputWebGpu =
  (ctx: GpuContext): KernelFactory<'layerNormGradInput'> =>
  ({ name, attrs, params, inputShapes: [, xs] }) => {
    const { rows, text, shapes } = layerShapes(attrs, xs);
    const body = `${text}
${statsWgsl}
fn g(base: u32, j: u32) -> f32 {
  if (AFFINE) { return m[u.dy + base + j] * m[u.w + j]; }
  return m[u.dy + base + j];
}
fn body(r: u32) {
  let base = r * u.COLS;
  let mean = rowMean(base);
  let rstd = rowRstd(base, mean);
  var sg: f32 = 0.0;
  var sgh: f32 = 0.0;
  for (var j: u32 = 0u; j < u.COLS; j++) {
    let gj = g(base, j);
    sg += gj;
    sgh += gj * (m[u.x + base + j] - mean) * rstd;
  }
  for (var j: u32 = 0u; j < u.COLS; j++) {
    let h = (m[u.x + base + j] - mean) * rstd;
    m[u.y + base + j] = rstd * (g(base, j) - sg / f32(u.COLS) - (h * sgh) / f32(u.COLS));
  }
}`;
    return programKernel(
      ctx,
      `${name} layerNormGradInput`,
      ['dy', 'x', 'y', 'w'],
      [{ body, threads: rows }],
      ([dy, x], dx) => [f(dy), f(x), f(dx), at(params.weight)],
      { shapes },
    );
  };

/** dw[j] = Σ over rows of dY·x̂. Inputs: dY, X; scratch: (mean, rstd) per row. */
export const layerNormGradWeightWebGpu =
  (ctx: GpuContext): KernelFactory<'layerNormGradWeight'> =>
  ({ name, attrs, inputShapes: [, xs] }) => {
    const { rows, cols, text, shapes } = layerShapes(attrs, xs);
    const stats = `${text}
${statsWgsl}
fn body(r: u32) {
  let mean = rowMean(r * u.COLS);
  m[u.s + 2u * r] = mean;
  m[u.s + 2u * r + 1u] = rowRstd(r * u.COLS, mean);
}`;
    const columns = `${text}
fn body(j: u32) {
  var acc: f32 = 0.0;
  for (var r: u32 = 0u; r < u.ROWS; r++) {
    acc += m[u.dy + r * u.COLS + j] * (m[u.x + r * u.COLS + j] - m[u.s + 2u * r]) * m[u.s + 2u * r + 1u];
  }
  m[u.y + j] = acc;
}`;
    return programKernel(
      ctx,
      `${name} layerNormGradWeight`,
      ['dy', 'x', 'y', 's'],
      [
        { body: stats, threads: rows },
        { body: columns, threads: cols },
      ],
      ([dy, x], dw, s) => [f(dy), f(x), f(dw), f(s)],
      { scratchBytes: 8 * Math.max(rows, 1), shapes },
    );
  };
