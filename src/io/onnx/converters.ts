import { FormatError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import { windowOutputSize } from '../../ops/util.js';
import { type ActivationKind, type BinaryKind, noActivation } from '../../ops/types.js';
import type { OnnxNode } from './decode.js';
import { type Builder, type Converter, UnsupportedOpError, type Val } from './builder.js';
import { breadthConverters } from './converters-breadth.js';
import {
  binaryConst,
  concatConst,
  type Const,
  constOf,
  gather,
  nodeLabel,
  normAxis,
  reshapeTarget,
  transposeConst,
  unresolved,
} from './fold.js';

const ints = (n: OnnxNode, key: string): number[] | undefined => n.attrs.get(key)?.ints;
const int = (n: OnnxNode, key: string, dflt: number): number => n.attrs.get(key)?.i ?? dflt;
const float = (n: OnnxNode, key: string, dflt: number): number => n.attrs.get(key)?.f ?? dflt;
const str = (n: OnnxNode, key: string, dflt: string): string => n.attrs.get(key)?.s ?? dflt;
const unsupported = (n: OnnxNode, why: string) => new UnsupportedOpError(n.opType, n.name, why);

const all = (ins: (Val | undefined)[]): ins is Val[] => ins.every((v) => v !== undefined);
const allConst = (ins: (Val | undefined)[]): boolean => ins.every((v) => v === undefined || v.kind === 'const');
const cval = (v: Val): Const => (v as Extract<Val, { kind: 'const' }>).c;

/** Spatial attributes of Conv / pooling, with auto_pad resolved against the input size. */
function windowAttrs(b: Builder, n: OnnxNode, x: Val, kernel: number[]) {
  const dims = b.shapeOf(x);
  if (dims.length !== 4) throw unsupported(n, `only 2-D (NCHW) inputs are supported, got rank ${dims.length}`);
  const strides = ints(n, 'strides') ?? [1, 1];
  const dilations = ints(n, 'dilations') ?? [1, 1];
  let pads = ints(n, 'pads') ?? [0, 0, 0, 0];
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const inSize = dims[2 + i];
      const out = Math.ceil(inSize / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSize);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + 2] = total - pads[i];
    }
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  return { strides, dilations, pads, dims };
}

function conv(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const w = b.constInput(n, ins, 1, 'the weight');
  if (w.dims.length !== 4) throw unsupported(n, `only 2-D convolutions are supported (weight rank ${w.dims.length})`);
  const kernel = ints(n, 'kernel_shape') ?? w.dims.slice(2);
  const { strides, dilations, pads, dims } = windowAttrs(b, n, x, kernel);
  const group = int(n, 'group', 1);
  const wName = n.inputs[1];
  const params: Record<string, import('../../core/parameter.js').Parameter> = {
    weight: b.params.get(wName, w, { trainable: true }),
  };
  const bias = ins[2] ? b.constInput(n, ins, 2, 'the bias') : undefined;
  if (bias) params.bias = b.params.get(n.inputs[2], bias, { trainable: true });
  return [
    b.add(
      n,
      'conv2d',
      {
        inChannels: dims[1],
        outChannels: w.dims[0],
        kernel: [kernel[0], kernel[1]],
        stride: [strides[0], strides[1]],
        padding: [pads[0], pads[1], pads[2], pads[3]],
        dilation: [dilations[0], dilations[1]],
        groups: group,
        bias: !!bias,
        activation: noActivation,
      },
      [x],
      params,
    ),
  ];
}

/**
 * ConvTranspose as the input gradient of the convolution it transposes (conv2dGradInput): its weight
 * [C_in, C_out / group, kH, kW] is that convolution's weight as stored. Bias: a per-channel add.
 */
function convTranspose(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const w = b.constInput(n, ins, 1, 'the weight');
  const dims = b.shapeOf(x);
  if (w.dims.length !== 4 || dims.length !== 4)
    throw unsupported(n, `only 2-D transposed convolutions are supported (weight rank ${w.dims.length})`);
  const group = int(n, 'group', 1);
  const kernel = ints(n, 'kernel_shape') ?? w.dims.slice(2);
  const strides = ints(n, 'strides') ?? [1, 1];
  const dilations = ints(n, 'dilations') ?? [1, 1];
  const outPad = ints(n, 'output_padding') ?? [0, 0];
  let pads = ints(n, 'pads') ?? [0, 0, 0, 0];
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  const outputShape = ints(n, 'output_shape');
  const extra = [0, 0];
  const full = (i: number) => strides[i] * (dims[2 + i] - 1) + outPad[i] + (kernel[i] - 1) * dilations[i] + 1;
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const target = outputShape ? outputShape.slice(-2) : [dims[2] * strides[0], dims[3] * strides[1]];
    pads = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const total = full(i) - target[i];
      if (total < 0) {
        // A larger output_shape: the extra rows/columns at the end see no input (implicit output_padding).
        extra[i] = -total;
        continue;
      }
      const half = Math.floor(total / 2);
      const upper = autoPad !== 'SAME_LOWER';
      pads[i] = upper ? half : total - half;
      pads[i + 2] = total - pads[i];
    }
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  const size: [number, number] = [full(0) - pads[0] - pads[2], full(1) - pads[1] - pads[3]];
  const outChannels = w.dims[1] * group;
  const weight = b.params.get(n.inputs[1], w, { trainable: true });
  let y = b.add(
    n,
    'conv2dGradInput',
    {
      inChannels: outChannels,
      outChannels: w.dims[0],
      kernel: [kernel[0], kernel[1]],
      stride: [strides[0], strides[1]],
      padding: [pads[0], pads[1], pads[2], pads[3]],
      dilation: [dilations[0], dilations[1]],
      groups: group,
      bias: false,
      activation: noActivation,
      inputSize: size,
    },
    [x],
    { weight },
  );
  if (extra[0] || extra[1]) y = b.add(n, 'pad', { pads: [0, 0, 0, 0, 0, 0, extra[0], extra[1]], value: 0 }, [y]);
  if (ins[2]) {
    const bias = b.constInput(n, ins, 2, 'the bias');
    y = b.add(n, 'binary', { kind: 'add' }, [y, b.nodeConst(n.inputs[2], { ...bias, dims: [outChannels, 1, 1] })]);
  }
  return [y];
}

function pool(kind: 'MaxPool' | 'AveragePool') {
  return (b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] => {
    let x = b.input(n, ins, 0);
    if (n.outputs.length > 1 && n.outputs[1]) throw unsupported(n, 'the Indices output of MaxPool is not supported');
    const kernel = ints(n, 'kernel_shape');
    if (!kernel) throw new FormatError(`${nodeLabel(n)}: kernel_shape is required`);
    if (kernel.length !== 2) throw unsupported(n, `only 2-D pooling is supported (kernel_shape [${kernel}])`);
    const { strides, dilations, pads } = windowAttrs(b, n, x, kernel);
    const ceil = int(n, 'ceil_mode', 0) === 1;
    const includePad = int(n, 'count_include_pad', 0) === 1;
    if (int(n, 'storage_order', 0) !== 0) throw unsupported(n, 'storage_order = 1 is not supported');
    let padding: [number, number] = [pads[0], pads[1]];
    const symmetric = pads[0] === pads[2] && pads[1] === pads[3] && 2 * pads[0] <= kernel[0] && 2 * pads[1] <= kernel[1];
    if (!symmetric) {
      if (kind === 'AveragePool') return [averagePoolPadded(b, n, x, kernel, strides, dilations, pads, ceil, includePad)];
      // Asymmetric (or wide) padding: pad explicitly with -inf (and at the end for ceil mode's last
      // windows), then pool without padding.
      const [h, w] = b.shapeOf(x).slice(2);
      const extra = [0, 1].map((i) => {
        const size = [h, w][i];
        const out = windowOutputSize(size, kernel[i], strides[i], pads[i], pads[i + 2], dilations[i], ceil);
        return Math.max(0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - (size + pads[i] + pads[i + 2]));
      });
      const value = Number.NEGATIVE_INFINITY;
      x = b.add(n, 'pad', { pads: [0, 0, pads[0], pads[1], 0, 0, pads[2] + extra[0], pads[3] + extra[1]], value }, [x]);
      padding = [0, 0];
    }
    const attrs = {
      kernel: [kernel[0], kernel[1]] as [number, number],
      stride: [strides[0], strides[1]] as [number, number],
      padding,
      dilation: [dilations[0], dilations[1]] as [number, number],
      ceilMode: ceil && symmetric,
      countIncludePad: includePad,
    };
    if (kind === 'AveragePool' && (dilations[0] !== 1 || dilations[1] !== 1))
      throw unsupported(n, 'dilated average pooling is not supported');
    return [b.add(n, kind === 'MaxPool' ? 'maxPool2d' : 'avgPool2d', attrs, [x])];
  };
}

/**
 * AveragePool with pads the pooling kernel does not take (asymmetric, or wider than half the window), either
 * count_include_pad: zero-pad explicitly (at the end too, so ceil mode's last windows fit), average each
 * full window, then rescale each output by window area / divisor, a constant of the shapes: the cells
 * inside the input (count_include_pad = 0) or inside the padded input (= 1).
 */
function averagePoolPadded(
  b: Builder,
  n: OnnxNode,
  x: Val,
  kernel: number[],
  strides: number[],
  dilations: number[],
  pads: number[],
  ceil: boolean,
  includePad: boolean,
): Val {
  if (dilations[0] !== 1 || dilations[1] !== 1) throw unsupported(n, 'dilated average pooling is not supported');
  const [h, w] = b.shapeOf(x).slice(2);
  const size = [h, w];
  const out = [0, 1].map((i) => windowOutputSize(size[i], kernel[i], strides[i], pads[i], pads[i + 2], 1, ceil));
  const extra = [0, 1].map((i) => Math.max(0, (out[i] - 1) * strides[i] + kernel[i] - (size[i] + pads[i] + pads[i + 2])));
  const padded = b.add(n, 'pad', { pads: [0, 0, pads[0], pads[1], 0, 0, pads[2] + extra[0], pads[3] + extra[1]], value: 0 }, [x]);
  const pooled = b.add(
    n,
    'avgPool2d',
    {
      kernel: [kernel[0], kernel[1]],
      stride: [strides[0], strides[1]],
      padding: [0, 0],
      dilation: [1, 1],
      ceilMode: false,
      countIncludePad: true,
    },
    [padded],
  );
  // Cells of window o along axis i that count: inside [lo, hi) in padded coordinates.
  const counted = (i: number, o: number) => {
    const lo = includePad ? 0 : pads[i];
    const hi = includePad ? size[i] + pads[i] + pads[i + 2] : pads[i] + size[i];
    const start = o * strides[i];
    return Math.max(0, Math.min(start + kernel[i], hi) - Math.max(start, lo));
  };
  const area = kernel[0] * kernel[1];
  const factor: number[] = [];
  for (let oh = 0; oh < out[0]; oh++)
    for (let ow = 0; ow < out[1]; ow++) {
      const d = counted(0, oh) * counted(1, ow);
      factor.push(d > 0 ? area / d : 0);
    }
  if (factor.every((f) => f === 1)) return pooled;
  return b.add(n, 'binary', { kind: 'mul' }, [pooled, b.nodeConst(`${n.name}.divisor`, constOf([out[0], out[1]], factor))]);
}

function activation(kind: ActivationKind, alpha?: (n: OnnxNode) => number): Converter {
  return (b, n, ins) => [b.add(n, 'activation', { kind, alpha: alpha ? alpha(n) : 0 }, [b.input(n, ins, 0)])];
}

function binary(kind: BinaryKind): Converter {
  return (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const y = b.input(n, ins, 1);
    if (x.kind === 'const' && y.kind === 'const') return [b.nodeConst(n.outputs[0], binaryConst(n.opType, x.c, y.c))];
    return [b.add(n, 'binary', { kind }, [x, y])];
  };
}

function reshapeTo(b: Builder, n: OnnxNode, x: Val, dims: number[]): Val {
  if (x.kind === 'const') return b.nodeConst(n.outputs[0], { ...x.c, dims });
  return b.add(n, 'reshape', { shape: dims }, [x]);
}

function gemm(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const a = b.input(n, ins, 0);
  const wv = b.input(n, ins, 1);
  const alpha = float(n, 'alpha', 1);
  const beta = float(n, 'beta', 1);
  const transA = int(n, 'transA', 0) === 1;
  const transB = int(n, 'transB', 0) === 1;
  const c = ins[2];
  if (wv.kind === 'const' && !transA && a.kind === 'value' && (!c || c.kind === 'const')) {
    const [rows, cols] = wv.c.dims;
    const outF = transB ? rows : cols;
    const inF = transB ? cols : rows;
    const suffix = (transB ? '' : '.T') + (alpha !== 1 ? `*${alpha}` : '');
    const weight = b.params.get(n.inputs[1] + suffix, wv.c, { trainable: true }, (w) => {
      const t = transB ? w : transposeConst(w, [1, 0]);
      return { ...t, data: t.data.map((v) => v * alpha) };
    });
    const params: Record<string, import('../../core/parameter.js').Parameter> = { weight };
    if (c && beta !== 0) {
      const cc = cval(c);
      if (sizeOf(cc.dims) === outF || sizeOf(cc.dims) === 1) {
        params.bias = b.params.get(n.inputs[2] + (beta !== 1 ? `*${beta}` : ''), cc, { trainable: true }, (t) =>
          constOf(
            [outF],
            Array.from({ length: outF }, (_, i) => beta * t.data[sizeOf(cc.dims) === 1 ? 0 : i]),
          ),
        );
      } else {
        const y = b.add(n, 'linear', { inFeatures: inF, outFeatures: outF, bias: false, activation: noActivation }, [a], params);
        const scaled = beta === 1 ? cc : { ...cc, data: cc.data.map((v) => v * beta) };
        return [b.add(n, 'binary', { kind: 'add' }, [y, b.nodeConst(`${n.inputs[2]}*${beta}`, scaled)])];
      }
    }
    return [
      b.add(n, 'linear', { inFeatures: inF, outFeatures: outF, bias: !!params.bias, activation: noActivation }, [a], params),
    ];
  }
  // General form: alpha * A' B' + beta * C, on matmul and binary ops (or folded when all constant).
  const t = (v: Val, tr: boolean): Val =>
    !tr
      ? v
      : v.kind === 'const'
        ? b.nodeConst(`${v.name}.T`, transposeConst(v.c, [1, 0]))
        : b.add(n, 'transpose', { perm: [1, 0] }, [v]);
  if (allConst(ins)) {
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => gemmGeneral(s, n, t(a, transA), t(wv, transB), alpha, beta, c)),
      ),
    ];
  }
  return [gemmGeneral(b, n, t(a, transA), t(wv, transB), alpha, beta, c)];
}

function gemmGeneral(b: Builder, n: OnnxNode, a: Val, w: Val, alpha: number, beta: number, c: Val | undefined): Val {
  let y = b.add(n, 'matmul', {}, [a, w]);
  if (alpha !== 1) y = b.add(n, 'binary', { kind: 'mul' }, [y, b.nodeConst(`${n.name}.alpha`, constOf([], [alpha]))]);
  if (c && beta !== 0) {
    const cc =
      beta === 1
        ? c
        : c.kind === 'const'
          ? b.nodeConst(`${c.name}*${beta}`, { ...c.c, data: c.c.data.map((v) => v * beta) })
          : b.add(n, 'binary', { kind: 'mul' }, [c, b.nodeConst(`${n.name}.beta`, constOf([], [beta]))]);
    y = b.add(n, 'binary', { kind: 'add' }, [y, cc]);
  }
  return y;
}

function matmul(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const a = b.input(n, ins, 0);
  const w = b.input(n, ins, 1);
  if (allConst(ins))
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => s.add(n, 'matmul', {}, [a, w])),
      ),
    ];
  if (w.kind === 'const' && w.c.dims.length === 2 && b.shapeOf(a).length >= 2) {
    const weight = b.params.get(`${n.inputs[1]}.T`, w.c, { trainable: true }, (c) => transposeConst(c, [1, 0]));
    return [
      b.add(n, 'linear', { inFeatures: w.c.dims[0], outFeatures: w.c.dims[1], bias: false, activation: noActivation }, [a], {
        weight,
      }),
    ];
  }
  return [b.add(n, 'matmul', {}, [a, w])];
}

function clip(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  let min = float(n, 'min', Number.NEGATIVE_INFINITY);
  let max = float(n, 'max', Number.POSITIVE_INFINITY);
  if (b.opset >= 11) {
    // Bounds fed at run time: max(x, min) then min(·, max) (NaN propagates, as Clip keeps a NaN x).
    if ((ins[1] && ins[1].kind !== 'const') || (ins[2] && ins[2].kind !== 'const')) {
      let y = x;
      if (ins[1]) y = b.add(n, 'binary', { kind: 'max' }, [y, ins[1]]);
      if (ins[2]) y = b.add(n, 'binary', { kind: 'min' }, [y, ins[2]]);
      return [y];
    }
    min = ins[1] ? b.constInput(n, ins, 1, 'min').data[0] : Number.NEGATIVE_INFINITY;
    max = ins[2] ? b.constInput(n, ins, 2, 'max').data[0] : Number.POSITIVE_INFINITY;
  }
  if (x.kind === 'const')
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => s.add(n, 'unary', { kind: 'clip', min, max }, [x])),
      ),
    ];
  if (min === 0 && max === 6) return [b.add(n, 'activation', { kind: 'relu6', alpha: 0 }, [x])];
  if (min === 0 && max === Number.POSITIVE_INFINITY) return [b.add(n, 'activation', { kind: 'relu', alpha: 0 }, [x])];
  return [b.add(n, 'unary', { kind: 'clip', min, max }, [x])];
}

/**
 * BatchNormalization with parameters fed at run time (the suite's form): (x − mean) / sqrt(var + eps) ·
 * scale + B on broadcasting ops, each [C] operand viewed as [C, 1, …] along dim 1.
 */
function batchNormRuntime(b: Builder, n: OnnxNode, x: Val, ps: Val[], eps: number): Val {
  const dims = b.shapeOf(x);
  const view = (v: Val, what: string) => {
    const c = b.shapeOf(v);
    if (sizeOf(c) !== dims[1]) throw new FormatError(`${nodeLabel(n)}: ${what} has ${sizeOf(c)} values for ${dims[1]} channels`);
    const shape = [dims[1], ...new Array(Math.max(0, dims.length - 2)).fill(1)];
    return v.kind === 'const' ? b.nodeConst(`${v.name}.view`, { ...v.c, dims: shape }) : b.add(n, 'reshape', { shape }, [v]);
  };
  const [scale, bias, mean, variance] = ps.map((v, k) => view(v, ['scale', 'B', 'mean', 'var'][k]));
  const eps1 = b.nodeConst(`${n.name}.eps`, constOf([], [eps]));
  const std = b.add(n, 'unary', { kind: 'sqrt', min: 0, max: 0 }, [b.add(n, 'binary', { kind: 'add' }, [variance, eps1])]);
  const centered = b.add(n, 'binary', { kind: 'sub' }, [x, mean]);
  const scaled = b.add(n, 'binary', { kind: 'mul' }, [b.add(n, 'binary', { kind: 'div' }, [centered, std]), scale]);
  return b.add(n, 'binary', { kind: 'add' }, [scaled, bias]);
}

function batchNorm(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  if (n.outputs.slice(1).some((o) => o)) throw unsupported(n, 'training-mode outputs (running mean/var) are not supported');
  const eps = float(n, 'epsilon', 1e-5);
  const ps = [1, 2, 3, 4].map((k) => b.input(n, ins, k));
  if (ps.some((v) => v.kind !== 'const')) return [batchNormRuntime(b, n, x, ps, eps)];
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((k) => b.constInput(n, ins, k, ['scale', 'B', 'mean', 'var'][k - 1]));
  const dims = b.shapeOf(x);
  if (dims.length === 4) {
    const weight = b.params.get(n.inputs[1], scale, { trainable: true });
    const p = {
      weight,
      bias: b.params.get(n.inputs[2], bias, { trainable: true }),
      running_mean: b.params.get(n.inputs[3], mean, { trainable: false }),
      running_var: b.params.get(n.inputs[4], variance, { trainable: false }),
    };
    const training = b.options.training && weight.requiresGrad;
    return [b.add(n, 'batchNorm2d', { numFeatures: dims[1], eps, momentum: 1 - float(n, 'momentum', 0.9), training }, [x], p)];
  }
  // Other ranks: y = x * s + t with s = scale / sqrt(var + eps), t = B - mean * s, broadcast along dim 1.
  const c = scale.dims[0];
  const bshape = [c, ...new Array(Math.max(0, dims.length - 2)).fill(1)];
  const s = Array.from({ length: c }, (_, i) => scale.data[i] / Math.sqrt(variance.data[i] + eps));
  const t = Array.from({ length: c }, (_, i) => bias.data[i] - mean.data[i] * s[i]);
  const y = b.add(n, 'binary', { kind: 'mul' }, [x, b.nodeConst(`${n.name}.scale`, constOf(bshape, s))]);
  return [b.add(n, 'binary', { kind: 'add' }, [y, b.nodeConst(`${n.name}.shift`, constOf(bshape, t))])];
}

function flatten(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  const axis = int(n, 'axis', 1);
  const a = axis < 0 ? axis + dims.length : axis;
  if (a < 0 || a > dims.length) throw new FormatError(`${nodeLabel(n)}: axis ${axis} is out of range for rank ${dims.length}`);
  return [reshapeTo(b, n, x, [sizeOf(dims.slice(0, a)), sizeOf(dims.slice(a))])];
}

function reshape(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  let target: number[];
  if (b.opset < 5 || (!n.inputs[1] && ints(n, 'shape'))) target = ints(n, 'shape') ?? [];
  else {
    const s = b.input(n, ins, 1);
    if (s.kind !== 'const') throw unresolved(n, `the target shape ('${n.inputs[1]}')`);
    target = Array.from(s.c.data);
  }
  return [reshapeTo(b, n, x, reshapeTarget(b.shapeOf(x), target, int(n, 'allowzero', 0) === 1, n))];
}

function transpose(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const rank = b.shapeOf(x).length;
  const perm = ints(n, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (x.kind === 'const') return [b.nodeConst(n.outputs[0], transposeConst(x.c, perm))];
  return [b.add(n, 'transpose', { perm }, [x])];
}

function concat(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  if (!all(ins)) throw new FormatError(`${nodeLabel(n)}: an input is missing`);
  const axis = int(n, 'axis', 0);
  const parts = ins.filter((v) => sizeOf(b.shapeOf(v)) > 0 || b.shapeOf(v).length > 1);
  if (parts.every((v) => v.kind === 'const')) return [b.nodeConst(n.outputs[0], concatConst(parts.map(cval), axis, n))];
  if (parts.length === 1) return [parts[0]];
  return [b.add(n, 'concat', { axis }, parts)];
}

function softmax(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  if (b.opset >= 13) return [b.add(n, 'softmax', { dim: int(n, 'axis', -1) }, [x])];
  // Opsets < 13: softmax over the input coerced to 2-D at `axis` (default 1).
  const a = normAxis(int(n, 'axis', 1), dims.length, n);
  const flat = b.add(n, 'reshape', { shape: [sizeOf(dims.slice(0, a)), sizeOf(dims.slice(a))] }, [x]);
  const y = b.add(n, 'softmax', { dim: 1 }, [flat]);
  return [b.add(n, 'reshape', { shape: dims }, [y])];
}

function pad(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const mode = str(n, 'mode', 'constant');
  if (mode !== 'constant') throw unsupported(n, `mode '${mode}' is not supported (constant only)`);
  const rank = b.shapeOf(x).length;
  let pads: number[];
  let value = float(n, 'value', 0);
  if (b.opset < 11) pads = ints(n, 'pads') ?? [];
  else {
    pads = Array.from(b.constInput(n, ins, 1, 'pads').data);
    if (ins[2]) value = b.constInput(n, ins, 2, 'constant_value').data[0] ?? 0;
    if (ins[3]) {
      const axes = Array.from(b.constInput(n, ins, 3, 'axes').data).map((a) => normAxis(a, rank, n));
      const full = new Array(2 * rank).fill(0);
      axes.forEach((a, k) => {
        full[a] = pads[k];
        full[a + rank] = pads[k + axes.length];
      });
      pads = full;
    }
  }
  if (x.kind === 'const')
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => s.add(n, 'pad', { pads, value }, [x])),
      ),
    ];
  return [b.add(n, 'pad', { pads, value }, [x])];
}

/** Axes from the attribute (opset < 13) or the second input. */
function axesOf(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): number[] | undefined {
  if (ins[1]) return Array.from(b.constInput(n, ins, 1, 'axes').data);
  return ints(n, 'axes');
}

function unsqueeze(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  const axes = axesOf(b, n, ins) ?? [];
  const rank = dims.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, n));
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : dims[k++]);
  return [reshapeTo(b, n, x, out)];
}

function squeeze(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const dims = b.shapeOf(x);
  const axes = axesOf(b, n, ins)?.map((a) => normAxis(a, dims.length, n));
  return [
    reshapeTo(
      b,
      n,
      x,
      dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)),
    ),
  ];
}

function gatherOp(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const idx = b.input(n, ins, 1);
  if (x.kind !== 'const' || idx.kind !== 'const') throw unsupported(n, 'Gather is only supported on constants (shape chains)');
  return [b.nodeConst(n.outputs[0], gather(x.c, idx.c, int(n, 'axis', 0), n))];
}

function globalPool(kind: 'avg' | 'max'): Converter {
  return (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const d = b.shapeOf(x);
    if (d.length !== 4) throw unsupported(n, `only NCHW inputs are supported, got rank ${d.length}`);
    if (kind === 'avg') return [b.add(n, 'adaptiveAvgPool2d', { outputSize: [1, 1] }, [x])];
    const k: [number, number] = [d[2], d[3]];
    return [
      b.add(
        n,
        'maxPool2d',
        { kernel: k, stride: k, padding: [0, 0], dilation: [1, 1], ceilMode: false, countIncludePad: false },
        [x],
      ),
    ];
  };
}

function dropout(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  if (n.outputs[1]) throw unsupported(n, 'the mask output of Dropout is not supported');
  const ratio = b.opset >= 12 ? (ins[1] ? b.constInput(n, ins, 1, 'ratio').data[0] : 0.5) : float(n, 'ratio', 0.5);
  const trainingMode = b.opset >= 12 && ins[2] ? b.constInput(n, ins, 2, 'training_mode').data[0] !== 0 : false;
  if (trainingMode && ratio > 0 && !b.options.training) {
    throw unsupported(
      n,
      'training_mode = true in an inference graph (a random mask vireo cannot reproduce); export the model in eval mode',
    );
  }
  if (!b.options.training || x.kind === 'const') return [x];
  let seed = 0;
  for (const ch of n.name) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  return [b.add(n, 'dropout', { p: ratio, training: true, seed }, [x])];
}

function constant(b: Builder, n: OnnxNode): Val[] {
  const a = n.attrs.get('value');
  if (a?.t)
    return [
      b.nodeConst(n.outputs[0], {
        dims: a.t.dims,
        data: a.t.values,
        int: a.t.dataType !== 1 && a.t.dataType !== 11 && a.t.dataType !== 10,
      }),
    ];
  const f = n.attrs.get('value_float')?.f;
  if (f !== undefined) return [b.nodeConst(n.outputs[0], constOf([], [f]))];
  const i = n.attrs.get('value_int')?.i;
  if (i !== undefined) return [b.nodeConst(n.outputs[0], constOf([], [i], true))];
  const fs = n.attrs.get('value_floats')?.floats;
  if (fs) return [b.nodeConst(n.outputs[0], constOf([fs.length], fs))];
  const is = n.attrs.get('value_ints')?.ints;
  if (is) return [b.nodeConst(n.outputs[0], constOf([is.length], is, true))];
  throw unsupported(n, 'only tensor, float(s) and int(s) constants are supported');
}

/** Converters by ONNX op type (default domain). */
export const converters: Record<string, Converter> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('MaxPool'),
  AveragePool: pool('AveragePool'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  Gemm: gemm,
  MatMul: matmul,
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Relu: activation('relu'),
  LeakyRelu: activation('leakyRelu', (n) => float(n, 'alpha', 0.01)),
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  Clip: clip,
  HardSwish: (b, n, ins) => [b.add(n, 'unary', { kind: 'hardSwish', min: 0, max: 0 }, [b.input(n, ins, 0)])],
  BatchNormalization: batchNorm,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Softmax: softmax,
  Dropout: dropout,
  Identity: (b, n, ins) => [b.input(n, ins, 0)],
  Pad: pad,
  // Shape plumbing, folded at import time.
  Constant: constant,
  Shape: (b, n, ins) => {
    const dims = b.shapeOf(b.input(n, ins, 0));
    const start = normAxisLoose(int(n, 'start', 0), dims.length);
    const end = n.attrs.has('end') ? normAxisLoose(int(n, 'end', dims.length), dims.length) : dims.length;
    const s = dims.slice(start, end);
    return [b.nodeConst(n.outputs[0], constOf([s.length], s, true))];
  },
  Gather: gatherOp,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  ...breadthConverters,
  Cast: (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const to = int(n, 'to', 1);
    if (x.kind === 'const') {
      const isInt = to !== 1 && to !== 10 && to !== 11;
      return [b.nodeConst(n.outputs[0], { ...x.c, data: isInt ? x.c.data.map(Math.trunc) : x.c.data, int: isInt })];
    }
    if (to === 1) return [x];
    throw unsupported(n, `casting a run-time value to data type ${to} (vireo computes in float32)`);
  },
};

function normAxisLoose(a: number, rank: number): number {
  return Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
}
