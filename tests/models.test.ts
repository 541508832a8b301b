// The library's ready-made architectures against the definitions the tests hold independently.
import { describe, expect, it } from 'vitest';
import { models } from '../src/index.js';
import type { Module } from '../src/nn/module.js';
import { referenceCnn } from './helpers/models.js';

const shapes = (m: Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape]));
const count = (m: Module) => m.parameters().reduce((s, p) => s + p.size, 0);

describe('models', () => {
  it('cifarNet() is the reference CNN: the same state-dict names and shapes', () => {
    expect(shapes(models.cifarNet())).toEqual(shapes(referenceCnn()));
  });

  it('cifarNet scales fc1 with the input size and takes channels and classes', () => {
    const s = shapes(models.cifarNet({ inChannels: 1, imageSize: [64, 48], classes: 7 }));
    expect(s['conv1.weight']).toEqual([64, 1, 3, 3]);
    expect(s['fc1.weight']).toEqual([1024, 256 * 8 * 6]);
    expect(s['fc3.weight']).toEqual([7, 512]);
  });

  it('smallCnn has the parameter counts its documentation states', () => {
    expect(count(models.smallCnn({ inChannels: 1, imageSize: 28 }))).toBe(241_770);
    const at32 = count(models.smallCnn());
    expect(at32).toBeGreaterThan(350_000);
    expect(at32).toBeLessThan(360_000);
    // Larger inputs pool to 4×4 before the classifier: the same count as 32×32.
    expect(count(models.smallCnn({ imageSize: 96 }))).toBe(at32);
  });
});
