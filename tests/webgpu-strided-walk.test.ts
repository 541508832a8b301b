// The WebGPU index walks drop extent-1 dimensions and merge neighbours before the rank is compiled in
// (src/backends/webgpu/kernels/strided.ts). Merging must never change an offset: checked here on the host,
// against offsets summed over every multi-index of the original dimensions, for broadcasts, transposes and
// reversed slices (negative strides) and arbitrary strides.
import { describe, expect, it } from 'vitest';
import { collapseDims, stridedWalk } from '../src/backends/webgpu/kernels/strided.js';
import { Random } from '../src/core/random.js';

/** Offsets of every linear index, from the multi-index over `dims` (row-major) and one operand's strides. */
function offsetsByCoordinates(dims: readonly number[], strides: readonly number[]): number[] {
  const total = dims.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < total; i++) {
    let rest = i;
    let offset = 0;
    for (let d = dims.length - 1; d >= 0; d--) {
      offset += (rest % dims[d]) * strides[d];
      rest = Math.floor(rest / dims[d]);
    }
    out.push(offset);
  }
  return out;
}

/** The same offsets as the collapsed walk computes them: the outermost coordinate is what is left. */
function offsetsByWalk(dims: readonly number[], strides: readonly number[], total: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < total; i++) {
    let rest = i;
    let offset = 0;
    for (let d = dims.length - 1; d >= 0; d--) {
      const c = d === 0 ? rest : rest % dims[d];
      rest = d === 0 ? 0 : Math.floor(rest / dims[d]);
      offset += c * strides[d];
    }
    out.push(offset);
  }
  return out;
}

const contiguous = (dims: readonly number[]) => dims.map((_, d) => dims.slice(d + 1).reduce((a, b) => a * b, 1));

describe('WebGPU strided walks', () => {
  it('same-shape operands walk one flat dimension; a broadcast keeps its break', () => {
    expect(collapseDims([2, 5, 7, 9], { a: contiguous([2, 5, 7, 9]), b: contiguous([2, 5, 7, 9]) })).toEqual({
      dims: [630],
      strides: { a: [1], b: [1] },
    });
    // Per-channel: [2, 6, 5, 7] by [6, 1, 1]: H and W merge, the channel stays its own dimension.
    expect(collapseDims([2, 6, 5, 7], { a: [210, 35, 7, 1], b: [0, 1, 0, 0] })).toEqual({
      dims: [2, 6, 35],
      strides: { a: [210, 35, 1], b: [0, 1, 0] },
    });
    // Extent-1 dimensions go, whatever their stride.
    expect(collapseDims([1, 4, 1, 3], { a: [99, 3, 7, 1] })).toEqual({ dims: [12], strides: { a: [1] } });
    expect(collapseDims([1, 1], { a: [5, 1] })).toEqual({ dims: [], strides: { a: [] } });
  });

  it('a walk fills one extent per inner dimension and one stride per operand and dimension, in two’s complement', () => {
    const walk = stridedWalk('i', [3, 4], { ix: [-4, 1] }, 'P');
    expect(walk.rank).toBe(2);
    expect(walk.shapes).toEqual({ PD1: 4, Pix_1: 1, Pix_0: 0xfffffffc });
    expect(walk.code).toContain('u.PD1');
    expect(walk.code).not.toContain('4u');
  });

  it('collapsing never changes an offset (random shapes; broadcast, stepped and arbitrary strides)', () => {
    const random = new Random(11);
    const pick = (n: number) => Math.floor(random.next() * n);
    for (let trial = 0; trial < 300; trial++) {
      const rank = 1 + pick(5);
      const dims = Array.from({ length: rank }, () => 1 + pick(4));
      const base = contiguous(dims);
      const operands: Record<string, number[]> = {
        same: base,
        broadcast: base.map((s) => (random.next() < 0.4 ? 0 : s)),
        stepped: base.map((s) => s * (random.next() < 0.3 ? -2 : random.next() < 0.5 ? 1 : 3)),
        // Any strides at all (a transpose's, a negative step's): the merge rule must hold for every one.
        arbitrary: dims.map(() => pick(13) - 6),
      };
      const collapsed = collapseDims(dims, operands);
      const total = dims.reduce((a, b) => a * b, 1);
      expect(collapsed.dims.reduce((a, b) => a * b, 1)).toBe(total);
      for (const [name, strides] of Object.entries(operands)) {
        expect(offsetsByWalk(collapsed.dims, collapsed.strides[name], total), `${name} over [${dims}]`).toEqual(
          offsetsByCoordinates(dims, strides),
        );
      }
    }
  });
});
