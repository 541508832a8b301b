import { describe, expect, it } from 'vitest';
import { DataLoader, Random, datasets, manualSeed, nn } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

/**
 * Plan.runProfiled() (through the public net.plan(shape)) and DataLoader.stats: what they report, never
 * how fast: the profiled run gives the plain run's outputs, one timing per planned step named after
 * its (fused) layers with the plan's FLOPs; the loader counts its batches and waits.
 */
describe('Plan.runProfiled', () => {
  for (const b of backendsUnderTest) {
    it(`on ${b.label}: the same outputs as run(), one row per planned layer (flatten is a view, not a step), FLOPs adding up to the plan's`, async () => {
      manualSeed(3);
      const net = new nn.Sequential({
        conv: new nn.Conv2d(3, 8, 3, { padding: 1 }),
        act: new nn.ReLU(),
        pool: new nn.MaxPool2d(2),
        flatten: new nn.Flatten(),
        fc: new nn.Linear(8 * 4 * 4, 5),
      }).eval();
      await net.to(b.name, b.build ? { build: b.build } : {});
      const plan = await net.plan([2, 3, 8, 8]);
      const x = randomArray(2 * 3 * 8 * 8, 4, 1);
      const plain = plan.run([x])[0].slice();
      const { outputs, layers } = plan.runProfiled([x]);
      expect(Array.from(outputs[0])).toEqual(Array.from(plain));
      expect(layers.map((l) => [l.name, l.op, l.outputShape])).toEqual([
        ['conv+act', 'conv2d', [2, 8, 8, 8]],
        ['pool', 'maxPool2d', [2, 8, 4, 4]],
        ['fc', 'linear', [2, 5]],
      ]);
      expect(layers.reduce((s, l) => s + l.flops, 0)).toBe(plan.totalFlops);
      expect(layers[0].flops).toBe(2 * (2 * 8 * 8 * 8) * (3 * 9)); // a multiply-add per weight tap and output, as 2 FLOPs
      for (const l of layers) expect(l.ms).toBeGreaterThanOrEqual(0);
      net.releasePlans();
    });
  }
});

describe('DataLoader.stats', () => {
  it('counts batches over epochs and records the first wait within the total', async () => {
    const r = new Random(2);
    const n = 10;
    const ds = new datasets.ArrayDataset(
      Uint8Array.from({ length: n * 8 * 8 }, () => r.int(256)),
      Array.from({ length: n }, (_, i) => i % 3),
      { shape: [n, 8, 8, 1], numClasses: 3 },
    );
    const loader = new DataLoader(ds, { batchSize: 4 });
    expect(loader.stats).toEqual({ batches: 0, waitMs: 0, firstWaitMs: 0 });
    for await (const _ of loader);
    expect(loader.stats.batches).toBe(3);
    const first = loader.stats.firstWaitMs;
    for await (const _ of loader);
    expect(loader.stats.batches).toBe(6);
    expect(loader.stats.firstWaitMs).toBe(first); // the very first batch only
    expect(loader.stats.firstWaitMs).toBeGreaterThanOrEqual(0);
    expect(loader.stats.waitMs).toBeGreaterThanOrEqual(loader.stats.firstWaitMs);
  });
});
