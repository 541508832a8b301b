import { describe, expect, it } from 'vitest';
import { erf, unaryMath } from '../src/ops/unary-math.js';

/** The float64 oracle of the unary kinds against values computed elsewhere (Python's math.erf). */
describe('unary math oracle', () => {
  it('erf matches math.erf on both branches and both signs', () => {
    const known: [number, number][] = [
      [0, 0],
      [-0.1, -0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.99, 0.9999764743969194],
      [3.5, 0.9999992569016276],
      [-4.2, -0.9999999971445058],
      [7, 1],
    ];
    for (const [x, want] of known) expect(Math.abs(erf(x) - want), `erf(${x})`).toBeLessThan(1e-9);
  });

  it('gelu and hardSigmoid follow their definitions', () => {
    expect(unaryMath(1, { kind: 'gelu', min: 0, max: 0 })).toBeCloseTo(0.8413447460685429, 12);
    expect(unaryMath(-2, { kind: 'gelu', min: 0, max: 0 })).toBeCloseTo(-0.04550026389635842, 12);
    const hs = { kind: 'hardSigmoid' as const, min: 0, max: 0, alpha: 0.2, beta: 0.5 };
    expect([-3, 0, 1, 3].map((x) => unaryMath(x, hs))).toEqual([0, 0.5, 0.7, 1]);
  });
});
