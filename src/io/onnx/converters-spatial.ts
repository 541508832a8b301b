import { FormatError } from '../../core/errors.js';
import type { Parameter } from '../../core/parameter.js';
import { sizeOf } from '../../core/shape.js';
import { noActivation } from '../../ops/types.js';
import { windowOutputSize } from '../../ops/util.js';
import { float, int, ints, str, unsupported } from './attrs.js';
import { volumetric } from './converters-3d.js';
import type { Builder, Converter, Val } from './builder.js';
import type { OnnxNode } from './decode.js';
import { constOf, nodeLabel } from './fold.js';

/**
 * Converters of the spatial layers: convolution (and its transpose), pooling, global pooling and batch
 * normalization, for 2-D (NCHW) inputs; 1-D ones lifted to a unit height, 3-D ones per depth tap.
 */

/** Spatial attributes of Conv / pooling, with auto_pad resolved against the input size. */
function windowAttrs(b: Builder, n: OnnxNode, x: Val, kernel: number[]) {
  const dims = b.shapeOf(x);
  if (dims.length !== 4)
    throw unsupported(n, `only 1-D, 2-D and 3-D (NCL, NCHW, NCDHW) inputs are supported, got rank ${dims.length}`);
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
  if (w.dims.length !== 4)
    throw unsupported(n, `only 1-D, 2-D and 3-D convolutions are supported (weight rank ${w.dims.length})`);
  const kernel = ints(n, 'kernel_shape') ?? w.dims.slice(2);
  const { strides, dilations, pads, dims } = windowAttrs(b, n, x, kernel);
  const group = int(n, 'group', 1);
  const wName = n.inputs[1];
  const params: Record<string, Parameter> = {
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
    throw unsupported(n, `only 1-D and 2-D transposed convolutions are supported (weight rank ${w.dims.length})`);
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
    if (kernel.length !== 2) throw unsupported(n, `only 1-D, 2-D and 3-D pooling is supported (kernel_shape [${kernel}])`);
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

/**
 * BatchNormalization in training mode (opset 14+): normalized by the batch's own mean and (population)
 * variance over every axis but the channels; the optional outputs are the updated running statistics,
 * running · momentum + batch · (1 − momentum). Built from reductions and broadcasting arithmetic.
 */
function batchNormTraining(b: Builder, n: OnnxNode, x: Val, ins: (Val | undefined)[], eps: number): (Val | undefined)[] {
  const dims = b.shapeOf(x);
  const axes = dims.map((_, i) => i).filter((i) => i !== 1);
  const momentum = float(n, 'momentum', 0.9);
  const view = [dims[1], ...new Array(Math.max(0, dims.length - 2)).fill(1)];
  const asView = (v: Val) =>
    v.kind === 'const' ? b.nodeConst(`${v.name}.view`, { ...v.c, dims: view }) : b.add(n, 'reshape', { shape: view }, [v]);
  const scalar = (name: string, v: number) => b.nodeConst(`${n.name}.${name}`, constOf([], [v]));
  const mean = b.add(n, 'reduce', { kind: 'mean', axes, keepdims: true }, [x]);
  const centered = b.add(n, 'binary', { kind: 'sub' }, [x, mean]);
  const sq = b.add(n, 'binary', { kind: 'mul' }, [centered, centered]);
  const variance = b.add(n, 'reduce', { kind: 'mean', axes, keepdims: true }, [sq]);
  const std = b.add(n, 'unary', { kind: 'sqrt', min: 0, max: 0 }, [
    b.add(n, 'binary', { kind: 'add' }, [variance, scalar('eps', eps)]),
  ]);
  const normalized = b.add(n, 'binary', { kind: 'div' }, [centered, std]);
  const scaled = b.add(n, 'binary', { kind: 'mul' }, [normalized, asView(b.input(n, ins, 1))]);
  const y = b.add(n, 'binary', { kind: 'add' }, [scaled, asView(b.input(n, ins, 2))]);
  const running = (k: number, batch: Val) => {
    const old = b.add(n, 'binary', { kind: 'mul' }, [b.input(n, ins, k), scalar('momentum', momentum)]);
    const flat = b.add(n, 'reshape', { shape: [dims[1]] }, [batch]);
    return b.add(n, 'binary', { kind: 'add' }, [old, b.add(n, 'binary', { kind: 'mul' }, [flat, scalar('rest', 1 - momentum)])]);
  };
  return [y, n.outputs[1] ? running(3, mean) : undefined, n.outputs[2] ? running(4, variance) : undefined];
}

function batchNorm(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): (Val | undefined)[] {
  const x = b.input(n, ins, 0);
  const eps = float(n, 'epsilon', 1e-5);
  if (int(n, 'training_mode', 0) === 1 || n.outputs.slice(1).some((o) => o)) return batchNormTraining(b, n, x, ins, eps);
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

/**
 * 1-D convolution and pooling as their 2-D forms over [N, C, 1, L]: the input gains a unit height, a
 * weight [O, C, k] becomes [O, C, 1, k], each per-axis attribute gains a leading 1 (pads: 0 above and
 * below), and the output drops the unit height again.
 */
function lifted1d(convert: Converter): Converter {
  return (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const dims = b.shapeOf(x);
    if (dims.length !== 3) return convert(b, n, ins);
    const attrs = new Map(n.attrs);
    const lift = (key: string, f: (v: number[]) => number[]) => {
      const a = n.attrs.get(key);
      if (a?.ints) attrs.set(key, { ...a, ints: f(a.ints) });
    };
    for (const key of ['kernel_shape', 'strides', 'dilations']) lift(key, (v) => [1, ...v]);
    lift('output_padding', (v) => [0, ...v]);
    lift('output_shape', (v) => (v.length === 1 ? [1, ...v] : [...v.slice(0, -1), 1, v[v.length - 1]]));
    lift('pads', (v) => [0, v[0], 0, v[1]]);
    const node = { ...n, attrs };
    const up = (v: Val, name: string): Val => {
      const d = b.shapeOf(v);
      const shape = [...d.slice(0, -1), 1, d[d.length - 1]];
      return v.kind === 'const' ? b.nodeConst(name, { ...v.c, dims: shape }) : b.add(n, 'reshape', { shape }, [v]);
    };
    const lins = ins.map((v, k) => (v && (k === 0 || (k === 1 && b.shapeOf(v).length === 3)) ? up(v, n.inputs[k]) : v));
    return convert(b, node, lins).map((y) => {
      if (!y) return y;
      const d = b.shapeOf(y);
      const shape = [...d.slice(0, 2), d[3]];
      return y.kind === 'const' ? b.nodeConst(n.outputs[0], { ...y.c, dims: shape }) : b.add(n, 'reshape', { shape }, [y]);
    });
  };
}

/** A 2-D converter that also takes 1-D inputs (lifted) and 3-D ones (converters-3d.ts). */
function byRank(convert: Converter, kind: 'Conv' | 'MaxPool' | 'AveragePool'): Converter {
  const line = lifted1d(convert);
  const volume = volumetric(kind, convert);
  return (b, n, ins) => {
    const rank = b.shapeOf(b.input(n, ins, 0)).length;
    return (rank === 3 ? line : rank === 5 ? volume : convert)(b, n, ins);
  };
}

/** Converters by ONNX op type, merged into the main table (converters.ts). */
export const spatialConverters: Record<string, Converter> = {
  Conv: byRank(conv, 'Conv'),
  ConvTranspose: lifted1d(convTranspose),
  MaxPool: byRank(pool('MaxPool'), 'MaxPool'),
  AveragePool: byRank(pool('AveragePool'), 'AveragePool'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  BatchNormalization: batchNorm,
};
