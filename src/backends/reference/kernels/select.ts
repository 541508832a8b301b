import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { BinaryKind } from '../../../ops/types.js';
import type { Arena } from '../../arena.js';
import type { KernelFactory } from '../../backend.js';

/**
 * Reference kernels of src/ops/select.ts: Where, Gather and the value-dependent backward ops. Each output
 * element is computed from its own multi-index (no odometer shared with the wasm kernels): slow and plain.
 */

/** For each flat index of `out`, the element offset of every operand (broadcast as NumPy). */
function operandOffsets(out: readonly number[], shapes: readonly (readonly number[])[]): Int32Array[] {
  const n = sizeOf(out);
  const strides = shapes.map((s) => broadcastStrides(s, out));
  const offsets = shapes.map(() => new Int32Array(n));
  for (let i = 0; i < n; i++) {
    let rest = i;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = rest % out[d];
      rest = (rest - c) / out[d];
      strides.forEach((s, k) => {
        offsets[k][i] += c * s[d];
      });
    }
  }
  return offsets;
}

export const whereGeneric =
  (arena: Arena): KernelFactory<'where'> =>
  ({ inputShapes, outputShape }) => {
    const [oc, ox, oy] = operandOffsets(outputShape, inputShapes);
    const sizes = inputShapes.map(sizeOf);
    return {
      scratchBytes: 0,
      run([cp, xp, yp], outp) {
        const [c, x, y] = [cp, xp, yp].map((p, k) => arena.f32(p, sizes[k]));
        const out = arena.f32(outp, oc.length);
        for (let i = 0; i < out.length; i++) out[i] = c[oc[i]] !== 0 ? x[ox[i]] : y[oy[i]];
      },
    };
  };

export const whereGradGeneric =
  (arena: Arena): KernelFactory<'whereGrad'> =>
  ({ attrs, inputShapes: [cs], outputShape }) => {
    const [oc] = operandOffsets(outputShape, [cs]);
    return {
      scratchBytes: 0,
      run([cp, dyp], dxp) {
        const c = arena.f32(cp, sizeOf(cs));
        const dy = arena.f32(dyp, oc.length);
        const dx = arena.f32(dxp, oc.length);
        for (let i = 0; i < dx.length; i++) dx[i] = (c[oc[i]] !== 0) === (attrs.operand === 1) ? dy[i] : 0;
      },
    };
  };

export const gatherGeneric =
  (arena: Arena): KernelFactory<'gather'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const outer = sizeOf(xs.slice(0, attrs.axis));
    const inner = sizeOf(xs.slice(attrs.axis + 1));
    const axisSize = xs[attrs.axis];
    const count = attrs.indices.length;
    return {
      scratchBytes: 0,
      run([xp], yp) {
        const x = arena.f32(xp, sizeOf(xs));
        const y = arena.f32(yp, sizeOf(outputShape));
        for (let o = 0; o < outer; o++)
          for (let k = 0; k < count; k++)
            for (let i = 0; i < inner; i++) y[(o * count + k) * inner + i] = x[(o * axisSize + attrs.indices[k]) * inner + i];
      },
    };
  };

export const gatherGradGeneric =
  (arena: Arena): KernelFactory<'gatherGrad'> =>
  ({ attrs, inputShapes: [dys], outputShape }) => {
    const outer = sizeOf(outputShape.slice(0, attrs.axis));
    const inner = sizeOf(outputShape.slice(attrs.axis + 1));
    const count = attrs.indices.length;
    return {
      scratchBytes: 0,
      run([dyp], dxp) {
        const dy = arena.f32(dyp, sizeOf(dys));
        const dx = arena.f32(dxp, sizeOf(outputShape));
        dx.fill(0);
        for (let o = 0; o < outer; o++)
          for (let k = 0; k < count; k++)
            for (let i = 0; i < inner; i++)
              dx[(o * attrs.axisSize + attrs.indices[k]) * inner + i] += dy[(o * count + k) * inner + i];
      },
    };
  };

/** d(a ∘ b)/d(operand) · dy in float64, torch's conventions (see assembly/select.ts). */
export function binaryDerivative(kind: BinaryKind, operand: 0 | 1, a: number, b: number, g: number): number {
  switch (kind) {
    case 'max':
    case 'min': {
      const [mine, other] = operand === 0 ? [a, b] : [b, a];
      if (mine === other) return g / 2;
      return (kind === 'max' ? mine > other : mine < other) ? g : 0;
    }
    case 'pow':
      if (operand === 0) return b === 0 ? 0 : g * b * a ** (b - 1);
      return a === 0 && b >= 0 ? 0 : g * a ** b * Math.log(a);
    case 'prelu':
      if (operand === 0) return a > 0 ? g : g * b;
      return a > 0 ? 0 : g * a;
    default:
      throw new Error(`binaryGrad of '${kind}' is expressed with binary ops (tensor-ops-grad.ts)`);
  }
}

export const binaryGradGeneric =
  (arena: Arena): KernelFactory<'binaryGrad'> =>
  ({ attrs, inputShapes: [, as, bs], outputShape }) => {
    const [oa, ob] = operandOffsets(outputShape, [as, bs]);
    return {
      scratchBytes: 0,
      run([dyp, ap, bp], dxp) {
        const a = arena.f32(ap, sizeOf(as));
        const b = arena.f32(bp, sizeOf(bs));
        const dy = arena.f32(dyp, oa.length);
        const dx = arena.f32(dxp, oa.length);
        for (let i = 0; i < dx.length; i++) dx[i] = binaryDerivative(attrs.kind, attrs.operand, a[oa[i]], b[ob[i]], dy[i]);
      },
    };
  };

export const reduceMaxGradGeneric =
  (arena: Arena): KernelFactory<'reduceMaxGrad'> =>
  ({ attrs, inputShapes: [, xs], outputShape }) => {
    const kept = keptShape(xs, attrs.axes);
    const [group] = operandOffsets(xs, [kept]);
    const m = sizeOf(kept);
    return {
      scratchBytes: 0,
      run([dyp, xp, yp], dxp) {
        const x = arena.f32(xp, group.length);
        const y = arena.f32(yp, m);
        const dy = arena.f32(dyp, m);
        const dx = arena.f32(dxp, sizeOf(outputShape));
        const ties = new Float64Array(m);
        for (let i = 0; i < x.length; i++) if (x[i] === y[group[i]]) ties[group[i]]++;
        for (let i = 0; i < x.length; i++) dx[i] = x[i] === y[group[i]] ? dy[group[i]] / ties[group[i]] : 0;
      },
    };
  };
