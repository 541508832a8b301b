import { FormatError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { ReduceKind, UnaryAttrs, UnaryKind } from '../../ops/types.js';
import { addOrFold, float, int, ints } from './attrs.js';
import type { Builder, Converter, Val } from './builder.js';
import type { OnnxNode } from './decode.js';
import { constOf, nodeLabel, normAxis, sliceConst, sliceRanges } from './fold.js';

/**
 * Converters of the ops the classic classifiers beyond ResNet/MobileNetV2 need (MobileNetV3, MNASNet,
 * ShuffleNetV2, ConvNeXt) and their relatives: element-wise math, reductions, Slice/Split on activations,
 * LayerNormalization, Expand, variadic Max/Min/Sum/Mean. A node whose inputs are all known folds at import.
 */

const u = (kind: UnaryKind, extra: Partial<UnaryAttrs> = {}): UnaryAttrs => ({ kind, min: 0, max: 0, ...extra });

function unary(kind: UnaryKind, extra?: (n: OnnxNode) => Partial<UnaryAttrs>): Converter {
  return (b, n, ins) => [addOrFold(b, n, 'unary', u(kind, extra?.(n)), [b.input(n, ins, 0)])];
}

/** Pow with a known scalar exponent is a unary kind (2: a square, 0.5: sqrt); otherwise broadcasting pow. */
function pow(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const e = b.input(n, ins, 1);
  if (e.kind === 'const' && sizeOf(e.c.dims) === 1 && x.kind === 'value' && b.shapeOf(x).length >= e.c.dims.length) {
    const p = e.c.data[0];
    if (p === 1) return [x];
    return [b.add(n, 'unary', p === 0.5 ? u('sqrt') : u('pow', { alpha: p }), [x])];
  }
  return [addOrFold(b, n, 'binary', { kind: 'pow' }, [x, e])];
}

/** Reduced axes from the attribute or (ReduceSum ≥ 13, the others ≥ 18) the second input; none: all. */
function reduce(kind: ReduceKind): Converter {
  return (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const rank = b.shapeOf(x).length;
    let axes = ints(n, 'axes');
    if (ins[1]) axes = Array.from(b.constInput(n, ins, 1, 'axes').data);
    const keepdims = int(n, 'keepdims', 1) === 1;
    if (!axes || axes.length === 0) {
      if (int(n, 'noop_with_empty_axes', 0) === 1) return [x];
      axes = Array.from({ length: rank }, (_, i) => i);
    }
    const norm = [...new Set(axes.map((a) => normAxis(a, rank, n)))].sort((p, q) => p - q);
    // A spatial mean of NCHW is global average pooling: its tuned kernel and gradient.
    if (kind === 'mean' && x.kind === 'value' && rank === 4 && norm.join() === '2,3') {
      const y = b.add(n, 'adaptiveAvgPool2d', { outputSize: [1, 1] }, [x]);
      return [keepdims ? y : b.add(n, 'reshape', { shape: b.shapeOf(x).slice(0, 2) }, [y])];
    }
    return [addOrFold(b, n, 'reduce', { kind, axes: norm, keepdims }, [x])];
  };
}

/** One output of a slice: a strided copy of an activation, or folded from a constant. */
function sliceOut(b: Builder, n: OnnxNode, x: Val, r: { lo: number[]; st: number[]; len: number[] }, out: string): Val {
  const dims = b.shapeOf(x);
  if (r.len.every((d, i) => d === dims[i]) && r.st.every((s) => s === 1)) return x;
  if (x.kind === 'const') {
    const axes = dims.map((_, i) => i);
    const ends = r.lo.map((s, i) => s + r.len[i] * r.st[i]);
    return b.nodeConst(out, sliceConst(x.c, r.lo, ends, axes, r.st, n));
  }
  // An empty slice holds no run-time data: a constant of its shape.
  if (sizeOf(r.len) === 0) return b.nodeConst(out, constOf(r.len, []));
  return b.add(n, 'slice', { starts: r.lo, steps: r.st, sizes: r.len }, [x]);
}

function slice(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  if (dims.length === 0) throw new FormatError(`${nodeLabel(n)}: cannot slice a scalar`);
  const get = (k: number, key: string) =>
    b.opset >= 10 ? (ins[k] ? Array.from(b.constInput(n, ins, k, key).data) : undefined) : ints(n, key);
  const starts = get(1, 'starts') ?? [];
  const ends = get(2, 'ends') ?? [];
  const axes = get(3, 'axes') ?? starts.map((_, i) => i);
  const steps = get(4, 'steps') ?? starts.map(() => 1);
  if (x.kind === 'const') return [b.nodeConst(n.outputs[0], sliceConst(x.c, starts, ends, axes, steps, n))];
  return [sliceOut(b, n, x, sliceRanges(dims, starts, ends, axes, steps, n), n.outputs[0])];
}

/** Split: sizes from the `split` attribute (< 13) or input, else equal parts (the last smaller, opset 18). */
function split(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  const axis = normAxis(int(n, 'axis', 0), dims.length, n);
  const count = n.outputs.length;
  let sizes = ints(n, 'split');
  if (ins[1]) sizes = Array.from(b.constInput(n, ins, 1, 'split').data);
  if (!sizes || sizes.length === 0) {
    const part = Math.ceil(dims[axis] / count);
    sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(part, dims[axis] - i * part)));
  }
  if (sizes.length !== count || sizes.reduce((s, v) => s + v, 0) !== dims[axis])
    throw new FormatError(
      `${nodeLabel(n)}: split sizes [${sizes}] do not divide axis ${axis} of [${dims}] into ${count} outputs`,
    );
  let at = 0;
  return sizes.map((len, k) => {
    const lo = dims.map(() => 0);
    const l = [...dims];
    lo[axis] = at;
    l[axis] = len;
    at += len;
    return sliceOut(b, n, x, { lo, st: dims.map(() => 1), len: l }, n.outputs[k]);
  });
}

/**
 * LayerNormalization (opset 17): over the dimensions from `axis` on. Known scale and bias become the op's
 * parameters (trainable, as torch's LayerNorm); run-time ones multiply and add after a plain normalization.
 */
function layerNorm(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  const axis = normAxis(int(n, 'axis', -1), dims.length, n);
  const normalizedShape = dims.slice(axis);
  const eps = float(n, 'epsilon', 1e-5);
  const y = layerNormY(b, n, ins, x, normalizedShape, eps);
  if (!n.outputs[1] && !n.outputs[2]) return [y];
  // The optional Mean and InvStdDev outputs (reduced axes kept as 1), from reductions.
  const axes = normalizedShape.map((_, i) => axis + i);
  const mean = addOrFold(b, n, 'reduce', { kind: 'mean', axes, keepdims: true }, [x], `${n.outputs[0]}.mean`);
  const centered = addOrFold(b, n, 'binary', { kind: 'sub' }, [x, mean], `${n.outputs[0]}.centered`);
  const sq = addOrFold(b, n, 'unary', u('pow', { alpha: 2 }), [centered], `${n.outputs[0]}.sq`);
  const variance = addOrFold(b, n, 'reduce', { kind: 'mean', axes, keepdims: true }, [sq], `${n.outputs[0]}.var`);
  const v = addOrFold(b, n, 'unary', u('affine', { alpha: 1, beta: eps }), [variance], `${n.outputs[0]}.vareps`);
  const sd = addOrFold(b, n, 'unary', u('sqrt'), [v], `${n.outputs[0]}.std`);
  return [y, mean, addOrFold(b, n, 'unary', u('reciprocal'), [sd], `${n.outputs[0]}.rstd`)];
}

function layerNormY(b: Builder, n: OnnxNode, ins: (Val | undefined)[], x: Val, normalizedShape: number[], eps: number): Val {
  const scale = b.input(n, ins, 1);
  const bias = ins[2];
  const full = (v: Val) => v.kind === 'const' && sizeOf(v.c.dims) === sizeOf(normalizedShape);
  if (x.kind === 'value' && full(scale) && (!bias || full(bias))) {
    const c = (v: Val) => (v as Extract<Val, { kind: 'const' }>).c;
    const params = {
      weight: b.params.get(n.inputs[1], { ...c(scale), dims: normalizedShape }, { trainable: true }),
      bias: bias
        ? b.params.get(n.inputs[2], { ...c(bias), dims: normalizedShape }, { trainable: true })
        : b.params.get(`${n.name}.bias`, constOf(normalizedShape, new Float64Array(sizeOf(normalizedShape))), {
            trainable: true,
          }),
    };
    return b.add(n, 'layerNorm', { normalizedShape, eps, affine: true }, [x], params);
  }
  let y = addOrFold(b, n, 'layerNorm', { normalizedShape, eps, affine: false }, [x], `${n.outputs[0]}.normalized`);
  y = addOrFold(b, n, 'binary', { kind: 'mul' }, [y, scale], `${n.outputs[0]}.scaled`);
  if (bias) y = addOrFold(b, n, 'binary', { kind: 'add' }, [y, bias]);
  return y;
}

function expand(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const shape = Array.from(b.constInput(n, ins, 1, 'shape').data);
  return [addOrFold(b, n, 'expand', { shape, scale: 1 }, [x])];
}

/** Max / Min / Sum / Mean of any number of broadcasting inputs, as a chain of binary ops. */
function variadic(kind: 'max' | 'min' | 'add', mean = false): Converter {
  return (b, n, ins) => {
    const vals = ins.filter((v): v is Val => v !== undefined);
    if (vals.length === 0) throw new FormatError(`${nodeLabel(n)}: needs at least one input`);
    let y = vals[0];
    for (let k = 1; k < vals.length; k++) y = addOrFold(b, n, 'binary', { kind }, [y, vals[k]], `${n.outputs[0]}.${k}`);
    if (mean && vals.length > 1) y = addOrFold(b, n, 'unary', u('affine', { alpha: 1 / vals.length }), [y]);
    return [y];
  };
}

/** Converters by ONNX op type, merged into the main table (converters.ts). */
export const breadthConverters: Record<string, Converter> = {
  HardSigmoid: unary('hardSigmoid', (n) => ({ alpha: float(n, 'alpha', 0.2), beta: float(n, 'beta', 0.5) })),
  Erf: unary('erf'),
  Sqrt: unary('sqrt'),
  Exp: unary('exp'),
  Log: unary('log'),
  Reciprocal: unary('reciprocal'),
  Abs: unary('abs'),
  Neg: unary('affine', () => ({ alpha: -1, beta: 0 })),
  Gelu: unary('gelu'),
  Elu: unary('elu', (n) => ({ alpha: float(n, 'alpha', 1) })),
  // ONNX's defaults are float32 roundings of SELU's constants; β is ONNX's γ.
  Selu: unary('selu', (n) => ({ alpha: float(n, 'alpha', 1.6732632423543772), beta: float(n, 'gamma', 1.0507009873554805) })),
  Softplus: unary('softplus'),
  Mish: unary('mish'),
  // Sigmoid + Mul of one value, fused by patterns.ts (not an ONNX op).
  Silu: unary('silu'),
  Pow: pow,
  ReduceMean: reduce('mean'),
  ReduceSum: reduce('sum'),
  ReduceMax: reduce('max'),
  Slice: slice,
  Split: split,
  LayerNormalization: layerNorm,
  Expand: expand,
  Max: variadic('max'),
  Min: variadic('min'),
  Sum: variadic('add'),
  Mean: variadic('add', true),
};
