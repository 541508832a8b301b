import { FormatError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import { arithConverters } from './converters-arith.js';
import { breadthConverters } from './converters-breadth.js';
import { spatialConverters } from './converters-spatial.js';
import { all, cval, float, int, ints, reshapeTo, str, unsupported } from './attrs.js';
import type { Builder, Converter, Val } from './builder.js';
import type { OnnxNode } from './decode.js';
import { concatConst, constOf, gather, nodeLabel, normAxis, reshapeTarget, transposeConst, unresolved } from './fold.js';

/**
 * The converter table (ONNX op type → converter onto vireo's IR) and the shape and tensor plumbing:
 * Flatten/Reshape/Transpose/Concat/Softmax/Pad/Dropout, and the ops folded at import (Constant, Shape,
 * Gather, Unsqueeze, Squeeze, Cast). The layers live in converters-spatial.ts, arithmetic in
 * converters-arith.ts, the element-wise math and slicing of the later classifiers in converters-breadth.ts.
 */

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
  if (mode !== 'constant' && mode !== 'edge' && mode !== 'reflect')
    throw unsupported(n, `mode '${mode}' is not supported (constant, edge and reflect only)`);
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
  const build = (s: Builder) => (mode === 'constant' ? s.add(n, 'pad', { pads, value }, [x]) : borderPad(s, n, x, pads, mode));
  if (x.kind === 'const') return [b.nodeConst(n.outputs[0], b.foldWithReference(n, build))];
  return [build(b)];
}

/**
 * Edge and reflect padding from slices and a concat per padded axis (negative pads crop first): edge repeats
 * the border element (a size-1 slice expanded), reflect mirrors the elements next to the border (a reversed
 * slice, so at most size − 1 per side).
 */
function borderPad(b: Builder, n: OnnxNode, x: Val, pads: number[], mode: string): Val {
  const rank = b.shapeOf(x).length;
  const crop = pads.map((p) => Math.min(p, 0));
  let y = crop.some((p) => p < 0) ? b.add(n, 'pad', { pads: crop, value: 0 }, [x]) : x;
  for (let a = 0; a < rank; a++) {
    const [before, after] = [Math.max(pads[a], 0), Math.max(pads[a + rank], 0)];
    if (!before && !after) continue;
    const dims = b.shapeOf(y);
    const len = dims[a];
    if (mode === 'reflect' && Math.max(before, after) > len - 1)
      throw unsupported(n, `reflect padding of ${Math.max(before, after)} along an axis of ${len} (at most ${len - 1})`);
    const part = (start: number, step: number, size: number): Val => {
      const starts = dims.map(() => 0);
      const steps = dims.map(() => 1);
      const sizes = [...dims];
      starts[a] = start;
      steps[a] = step;
      sizes[a] = mode === 'edge' ? 1 : size;
      const v = b.add(n, 'slice', { starts, steps, sizes }, [y]);
      if (mode === 'reflect') return v;
      const shape = [...dims];
      shape[a] = size;
      return b.add(n, 'expand', { shape, scale: 1 }, [v]);
    };
    const parts: Val[] = [];
    if (before) parts.push(mode === 'edge' ? part(0, 1, before) : part(before, -1, before));
    parts.push(y);
    if (after) parts.push(mode === 'edge' ? part(len - 1, 1, after) : part(len - 2, -1, after));
    y = b.add(n, 'concat', { axis: a }, parts);
  }
  return y;
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

/**
 * Gather: folded when both inputs are known (shape chains); on an activation with known indices (negative
 * ones counted from the end), a `gather` op that trains (its gradient scatters dY back).
 */
function gatherOp(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const idx = b.input(n, ins, 1);
  const axis = int(n, 'axis', 0);
  if (x.kind === 'const' && idx.kind === 'const') return [b.nodeConst(n.outputs[0], gather(x.c, idx.c, axis, n))];
  if (idx.kind !== 'const')
    throw unsupported(n, `indices fed at run time ('${n.inputs[1]}'); vireo gathers at indices known at import`);
  const dims = b.shapeOf(x);
  const a = normAxis(axis, dims.length, n);
  const indices = Array.from(idx.c.data, (i) => {
    const k = i < 0 ? i + dims[a] : i;
    if (!Number.isInteger(k) || k < 0 || k >= dims[a])
      throw new FormatError(`${nodeLabel(n)}: index ${i} is out of range for axis ${a} of [${dims}]`);
    return k;
  });
  return [b.add(n, 'gather', { axis: a, indices, indicesShape: [...idx.c.dims] }, [x])];
}

function dropout(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  const trainingMode = b.opset >= 12 && ins[2] ? b.constInput(n, ins, 2, 'training_mode').data[0] !== 0 : false;
  // The ratio matters only when the mask is drawn: an inference Dropout takes it from a run-time value too.
  const ratio = () => (b.opset >= 12 ? (ins[1] ? b.constInput(n, ins, 1, 'ratio').data[0] : 0.5) : float(n, 'ratio', 0.5));
  if (!trainingMode && !b.options.training) return n.outputs[1] ? [x, ones(b, n, x)] : [x];
  if (trainingMode && ratio() > 0 && !b.options.training) {
    throw unsupported(
      n,
      'training_mode = true in an inference graph (a random mask vireo cannot reproduce); export the model in eval mode',
    );
  }
  if (!b.options.training || x.kind === 'const') return n.outputs[1] ? [x, ones(b, n, x)] : [x];
  if (n.outputs[1]) throw unsupported(n, 'the mask output of a training-mode Dropout is not supported');
  let seed = 0;
  for (const ch of n.name) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  return [b.add(n, 'dropout', { p: ratio(), training: true, seed }, [x])];
}

/** The mask of a Dropout that keeps everything: ones (as 1.0: vireo computes in float32). */
function ones(b: Builder, n: OnnxNode, x: Val): Val {
  const dims = b.shapeOf(x);
  return b.nodeConst(n.outputs[1], constOf(dims, new Float64Array(sizeOf(dims)).fill(1)));
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
  ...spatialConverters,
  ...arithConverters,
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
