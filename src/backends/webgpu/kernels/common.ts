import type { ActivationKind } from '../../../ops/types.js';
import type { PreparedKernel } from '../../backend.js';
import { type AnyPass, type GpuContext, GpuProgram, f32bits } from '../program.js';

/**
 * Shape values that travel as uniforms: each becomes a field the WGSL reads as `u.<NAME>` (u32; a padding
 * used in signed arithmetic is read back with `i32(u.PT)`, a value that may be negative travels as its two's
 * complement, `v >>> 0`, and is read with `bitcast<i32>`; a float travels as its bits, f32bits, and is read
 * with `bitcast<f32>`). Shapes are kept out of the source so that every
 * kernel differing only in shape shares one pipeline (the cache is keyed by source): a pipeline compile
 * costs far more than the few uniform loads, and integer divisions by them, that it saves.
 */
export type Shapes = Readonly<Record<string, number>>;

/**
 * A prepared kernel over one program: `values` maps (inputs, output, scratch) to the uniform values, in field
 * order; `shapes` are appended after them as uniform fields of their own.
 */
export function programKernel(
  ctx: GpuContext,
  label: string,
  fields: readonly string[],
  passes: readonly AnyPass[],
  values: (inputs: readonly number[], output: number, scratch: number) => number[],
  options: { scratchBytes?: number; after?: () => void; shapes?: Shapes } = {},
): PreparedKernel & { ready: Promise<void>; label: string } {
  const shapes = Object.entries(options.shapes ?? {});
  for (const [k, v] of shapes) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`internal: ${label}: shape uniform ${k} = ${v}`);
  }
  const program = new GpuProgram(ctx, label, [...fields, ...shapes.map(([k]) => k)], passes);
  const shapeValues = shapes.map(([, v]) => v);
  return {
    // What the kernel is, as its pipelines are labelled (tests read which tile and loads a plan chose).
    label,
    scratchBytes: options.scratchBytes ?? 0,
    ready: program.ready,
    run(inputs, output, scratch) {
      program.run([...values(inputs, output, scratch), ...shapeValues]);
      options.after?.();
    },
    dispose: () => program.dispose(),
  };
}

/** WGSL constants from a record: compile-time facts only (tile sizes, flags); shapes go in `Shapes`. */
export function consts(c: Record<string, number | boolean>): string {
  return Object.entries(c)
    .map(([k, v]) =>
      typeof v === 'boolean'
        ? `const ${k}: bool = ${v};`
        : Number.isInteger(v) && v >= 0
          ? `const ${k}: u32 = ${v}u;`
          : `const ${k}: f32 = ${floatLiteral(v)};`,
    )
    .join('\n');
}

export function floatLiteral(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`internal: non-finite WGSL constant ${v}`);
  const s = String(Math.fround(v));
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

/**
 * NaN by its bits: WGSL lets a compiler assume floats are never NaN, so `x != x` may fold to false
 * (SwiftShader does). Any shader that must keep NaN semantics (relu, max-pooling's "NaN wins") uses this.
 */
export const isnanWgsl = 'fn isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }';

/**
 * The activation's slope (leakyRelu's alpha) as a uniform, `u.ALPHA` (float bits): a kernel whose WGSL uses
 * activationWgsl or activationDerivativeWgsl adds these to its shapes, so a slope shares its kind's pipeline.
 */
export const activationShapes = (alpha: number): Shapes => ({ ALPHA: f32bits(alpha) });

/**
 * `fn act(x: f32) -> f32`, the activation vireo's reference defines (src/ops/activation-math.ts): relu keeps
 * NaN (torch.relu(nan) is nan), tanh is clamped where exp would overflow on some drivers. Reads `u.ALPHA`.
 */
export function activationWgsl(kind: ActivationKind): string {
  const body: Record<ActivationKind, string> = {
    none: 'return x;',
    relu: 'if (x > 0.0 || isnan(x)) { return x; } return 0.0;',
    relu6: 'return clamp(x, 0.0, 6.0);',
    leakyRelu: 'if (x >= 0.0) { return x; } return bitcast<f32>(u.ALPHA) * x;',
    sigmoid: 'return 1.0 / (1.0 + exp(-x));',
    tanh: 'return tanh(clamp(x, -15.0, 15.0));',
  };
  return `${isnanWgsl}\nfn act(x: f32) -> f32 { ${body[kind]} }`;
}

/** f'(v) as a function of the saved value (activationDerivative in src/ops/activation-math.ts). Reads `u.ALPHA`. */
export function activationDerivativeWgsl(kind: ActivationKind): string {
  const body: Record<ActivationKind, string> = {
    none: 'return 1.0;',
    relu: 'return select(0.0, 1.0, v > 0.0);',
    relu6: 'return select(0.0, 1.0, v > 0.0 && v < 6.0);',
    leakyRelu: 'return select(bitcast<f32>(u.ALPHA), 1.0, v > 0.0);',
    sigmoid: 'return v * (1.0 - v);',
    tanh: 'return 1.0 - v * v;',
  };
  return `fn dact(v: f32) -> f32 { ${body[kind]} }`;
}

/**
 * A sliding window's fields, named alike in every kernel that has one (convolution, pooling): kernel, stride,
 * dilation, and the padding before the first row and column (PT, PL: a convolution's top and left, pooling's
 * symmetric pads; the WGSL reads them as i32).
 */
export function windowShapes(a: {
  kernel: readonly number[];
  stride: readonly number[];
  dilation: readonly number[];
  padding: readonly number[];
}): Shapes {
  return {
    KH: a.kernel[0],
    KW: a.kernel[1],
    SH: a.stride[0],
    SW: a.stride[1],
    DH: a.dilation[0],
    DW: a.dilation[1],
    PT: a.padding[0],
    PL: a.padding[1],
  };
}

/**
 * WGSL loops over the output windows (oy, ox) that read input cell (iy, ix) — u32s in scope — through tap
 * (ky, kx): the forward's window rule (windowShapes' fields, u.OH, u.OW) read backwards, for gradients
 * written as gathers. `inner` runs once per such window, indented for the innermost loop.
 */
export function coveringWindowsWgsl(inner: string): string {
  return `for (var ky: u32 = 0u; ky < u.KH; ky++) {
    let ty = i32(iy) + i32(u.PT) - i32(ky * u.DH);
    if (ty < 0 || ty % i32(u.SH) != 0) { continue; }
    let oy = u32(ty) / u.SH;
    if (oy >= u.OH) { continue; }
    for (var kx: u32 = 0u; kx < u.KW; kx++) {
      let tx = i32(ix) + i32(u.PL) - i32(kx * u.DW);
      if (tx < 0 || tx % i32(u.SW) != 0) { continue; }
      let ox = u32(tx) / u.SW;
      if (ox >= u.OW) { continue; }
      ${inner}
    }
  }`;
}
