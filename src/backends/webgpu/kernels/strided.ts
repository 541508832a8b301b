// Strided index walks for the direct WebGPU kernels (broadcasting binary ops, transpose, expand, where, slice,
// reductions, matmul's batch): a linear index is split into coordinates over the output's dimensions and each
// operand's offset summed from its own strides. Only the rank is compiled in (the walk is unrolled per
// dimension); the extents and the strides are uniforms, so every shape of one rank shares one pipeline.
import type { Shapes } from './common.js';

/**
 * The dimensions and per-operand strides of a walk, simplified without changing any offset it yields:
 * extent-1 dimensions dropped (their coordinate is always 0), and neighbouring dimensions merged wherever
 * every operand steps through them as one (stride[d] = stride[d+1]·dims[d+1]). Same-shape operands become
 * one flat dimension, a trailing broadcast one or two: fewer ranks, so fewer pipelines, and fewer divisions.
 */
export function collapseDims(
  dims: readonly number[],
  strides: Readonly<Record<string, readonly number[]>>,
): { dims: number[]; strides: Record<string, number[]> } {
  const names = Object.keys(strides);
  const outDims: number[] = [];
  const outStrides: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let d = 0; d < dims.length; d++) {
    if (dims[d] === 1) continue;
    const last = outDims.length - 1;
    if (last >= 0 && names.every((n) => outStrides[n][last] === strides[n][d] * dims[d])) {
      outDims[last] *= dims[d];
      for (const n of names) outStrides[n][last] = strides[n][d];
    } else {
      outDims.push(dims[d]);
      for (const n of names) outStrides[n].push(strides[n][d]);
    }
  }
  return { dims: outDims, strides: outStrides };
}

/** A walk's WGSL (declares one `var <operand>: u32` per operand) and the uniform values it reads. */
export interface StridedWalk {
  code: string;
  shapes: Shapes;
  /** The walk's rank after collapsing: the only part of the shape the code depends on. */
  rank: number;
}

/**
 * WGSL that splits `index` (row-major over `dims`, and below their product) into coordinates and sums
 * coordinate × stride into one u32 per operand. Extents are read as `u.<prefix>D<d>`, strides as
 * `u.<prefix><operand>_<d>` — plain u32 members of the uniform struct, as every kernel's shapes are (a
 * uniform array would need a 16-byte element stride; named scalars pack at 4 bytes and read as clearly).
 * The outermost coordinate is what is left of the index, so its extent is not needed. A negative stride
 * (a reversed slice) travels as its two's complement: u32 arithmetic wraps, so the sum is still exact
 * whenever the offset it ends at is non-negative.
 */
export function stridedWalk(
  index: string,
  dims: readonly number[],
  offsets: Readonly<Record<string, readonly number[]>>,
  prefix = '',
): StridedWalk {
  const { dims: cd, strides } = collapseDims(dims, offsets);
  const names = Object.keys(strides);
  const shapes: Record<string, number> = {};
  const lines = [`var ${prefix}r: u32 = ${index};`, ...names.map((n) => `var ${n}: u32 = 0u;`)];
  for (let d = cd.length - 1; d >= 0; d--) {
    for (const n of names) shapes[`${prefix}${n}_${d}`] = strides[n][d] >>> 0;
    const adds = names.map((n) => `${n} += c * u.${prefix}${n}_${d};`).join(' ');
    if (d === 0) {
      lines.push(`{ let c = ${prefix}r; ${adds} }`);
    } else {
      shapes[`${prefix}D${d}`] = cd[d];
      lines.push(`{ let c = ${prefix}r % u.${prefix}D${d}; ${prefix}r = ${prefix}r / u.${prefix}D${d}; ${adds} }`);
    }
  }
  return { code: lines.join('\n  '), shapes, rank: cd.length };
}
