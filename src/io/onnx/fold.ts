import { FormatError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { OnnxNode } from './decode.js';

/** A value known at import time: an initializer, a Constant, or something folded from them. */
export interface Const {
  dims: number[];
  data: Float64Array;
  /** Integer typed (shape arithmetic: Div truncates). */
  int: boolean;
}

export const constOf = (dims: number[], values: ArrayLike<number>, int = false): Const => ({
  dims,
  data: Float64Array.from(values),
  int,
});

export function nodeLabel(node: OnnxNode): string {
  return `node '${node.name}' (${node.opType})`;
}

export function unresolved(node: OnnxNode, what: string): FormatError {
  return new FormatError(
    `${nodeLabel(node)}: ${what} is computed at run time and cannot be resolved to a static value; ` +
      'export the model with static shapes (or with constant folding on) so vireo can plan it',
  );
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

export function normAxis(axis: number, rank: number, node: OnnxNode): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new FormatError(`${nodeLabel(node)}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function gather(x: Const, idx: Const, axis: number, node: OnnxNode): Const {
  const a = normAxis(axis, x.dims.length, node);
  const outer = sizeOf(x.dims.slice(0, a));
  const inner = sizeOf(x.dims.slice(a + 1));
  const n = x.dims[a];
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of idx.data) {
      const i = raw < 0 ? raw + n : raw;
      if (i < 0 || i >= n) throw new FormatError(`${nodeLabel(node)}: index ${raw} is out of range for a dimension of ${n}`);
      for (let k = 0; k < inner; k++) out.push(x.data[(o * n + i) * inner + k]);
    }
  }
  return constOf([...x.dims.slice(0, a), ...idx.dims, ...x.dims.slice(a + 1)], out, x.int);
}

export function concatConst(parts: Const[], axis: number, node: OnnxNode): Const {
  const rank = parts[0].dims.length;
  const a = normAxis(axis, rank, node);
  const outer = sizeOf(parts[0].dims.slice(0, a));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const row = sizeOf(p.dims.slice(a));
      for (let k = 0; k < row; k++) out.push(p.data[o * row + k]);
    }
  }
  const dims = [...parts[0].dims];
  dims[a] = parts.reduce((s, p) => s + p.dims[a], 0);
  return constOf(
    dims,
    out,
    parts.every((p) => p.int),
  );
}

export function transposeConst(x: Const, perm: number[]): Const {
  const dims = perm.map((p) => x.dims[p]);
  const inS = strides(x.dims);
  const outS = strides(dims);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    let r = i;
    let src = 0;
    for (let d = 0; d < dims.length; d++) {
      const c = Math.floor(r / outS[d]);
      r -= c * outS[d];
      src += c * inS[perm[d]];
    }
    out[i] = x.data[src];
  }
  return { dims, data: out, int: x.int };
}

/**
 * ONNX Slice's ranges per axis of `dims`: first index, step and length (starts/ends clamped as the
 * spec says; axes not named are taken whole).
 */
export function sliceRanges(
  dims: readonly number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
  node: OnnxNode,
): { lo: number[]; st: number[]; len: number[] } {
  const rank = dims.length;
  const lo = dims.map(() => 0);
  const st = dims.map(() => 1);
  const len = [...dims];
  axes.forEach((axis, k) => {
    const a = normAxis(axis, rank, node);
    const d = dims[a];
    const step = steps[k] ?? 1;
    if (step === 0) throw new FormatError(`${nodeLabel(node)}: slice step 0`);
    const clamp = (v: number, min: number, max: number) => Math.min(Math.max(v, min), max);
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      len[a] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      len[a] = Math.max(0, Math.ceil((e - s) / step));
    }
    lo[a] = s;
    st[a] = step;
  });
  return { lo, st, len };
}

/** ONNX Slice over constants (shape chains: x.shape[2:]). */
export function sliceConst(x: Const, starts: number[], ends: number[], axes: number[], steps: number[], node: OnnxNode): Const {
  const rank = x.dims.length;
  const { lo, st, len } = sliceRanges(x.dims, starts, ends, axes, steps, node);
  const inS = strides(x.dims);
  const outS = strides(len);
  const n = sizeOf(len);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let src = 0;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(r / outS[d]);
      r -= c * outS[d];
      src += (lo[d] + c * st[d]) * inS[d];
    }
    out[i] = x.data[src];
  }
  return { dims: len, data: out, int: x.int };
}

/** Elementwise arithmetic over constants with broadcasting. */
export function binaryConst(kind: string, a: Const, b: Const): Const {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: number[]) => [...new Array(rank - d.length).fill(1), ...d];
  const da = pad(a.dims);
  const db = pad(b.dims);
  const dims = da.map((x, i) => (x === 1 ? db[i] : x));
  const sa = strides(da).map((s, i) => (da[i] === 1 ? 0 : s));
  const sb = strides(db).map((s, i) => (db[i] === 1 ? 0 : s));
  const os = strides(dims);
  const int = a.int && b.int;
  const n = sizeOf(dims);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(r / os[d]);
      r -= c * os[d];
      ia += c * sa[d];
      ib += c * sb[d];
    }
    const x = a.data[ia];
    const y = b.data[ib];
    out[i] =
      kind === 'Add'
        ? x + y
        : kind === 'Sub'
          ? x - y
          : kind === 'Mul'
            ? x * y
            : kind === 'Div'
              ? int
                ? Math.trunc(x / y)
                : x / y
              : Number.NaN;
  }
  return { dims, data: out, int };
}

/** ONNX Reshape's target: 0 copies the input dimension (unless allowzero), -1 is inferred. */
export function reshapeTarget(
  inDims: readonly number[],
  target: readonly number[],
  allowZero: boolean,
  node: OnnxNode,
): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  const total = sizeOf(inDims);
  const free = out.filter((d) => d === -1).length;
  if (free > 1 || out.some((d) => d < -1 || d === undefined)) {
    throw new FormatError(`${nodeLabel(node)}: invalid target shape [${target}] for input [${inDims}]`);
  }
  if (free === 1) {
    const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    const k = out.indexOf(-1);
    out[k] = known === 0 ? 0 : total / known;
  }
  if (!out.every(Number.isInteger) || sizeOf(out) !== total) {
    throw new FormatError(`${nodeLabel(node)}: cannot reshape [${inDims}] to [${target}]`);
  }
  return out;
}
