// A/B of a training-side knob on the reference CNN at batch 32: TrainPlans compiled with each setting,
// profiled steps alternating (machine load hits all alike), medians per op. Every step marks the
// parameters changed, as an optimizer step does, so the weight packing is timed too.
// Run: npx tsx bench/train-ab.ts EXPERIMENT [build]   (experiments: grad-weight-panels, weight-pack; src/core/flags.ts)
import { getBackend, Random } from '../src/index.js';
import { flags } from '../src/core/flags.js';
import { TrainPlan } from '../src/graph/train-plan.js';
import { referenceCnn } from '../tests/helpers/models.js';

const experiments: Record<string, [string, () => void][]> = {
  'grad-weight-panels': [
    ['im2col + f32_gemm', () => (flags.convGradWeightPanels = false)],
    ['im2col into B panels', () => (flags.convGradWeightPanels = true)],
  ],
  'weight-pack': [
    ['TS packing', () => (flags.packWeightsInWasm = false)],
    ['wasm packing', () => (flags.packWeightsInWasm = true)],
  ],
};
const name = process.argv[2] ?? 'weight-pack';
const build = (process.argv[3] ?? 'relaxed') as 'relaxed' | 'simd' | 'scalar';
const variants = experiments[name];
if (!variants) throw new Error(`unknown experiment ${name} (known: ${Object.keys(experiments).join(', ')})`);
const backend = await getBackend('wasm', { build });
const net = referenceCnn();
net.train();
const rng = new Random(1);
const x = new Float32Array(32 * 3 * 32 * 32).map(() => rng.uniform(-1, 1));
const gy = new Float32Array(320).map(() => rng.uniform(-1, 1) / 32);
const plans = variants.map(([, set]) => {
  set();
  return new TrainPlan(net.toGraph(), [[32, 3, 32, 32]], backend);
});
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const acc = plans.map(() => new Map<string, number[]>());
for (let r = 0; r < 8; r++) {
  plans.forEach((plan, i) => {
    variants[i][1]();
    for (const p of net.parameters()) {
      p.markChanged();
      p.zeroGrad(); // optimizer.zeroGrad()
    }
    const t0 = performance.now();
    const { layers } = plan.profileStep([x], gy);
    const wall = performance.now() - t0;
    const byOp = new Map<string, number>();
    for (const l of layers) {
      const key = l.op === 'pack' || l.op === 'gradAccumulate' ? `${l.op} ${l.name}` : l.op;
      byOp.set(key, (byOp.get(key) ?? 0) + l.ms);
    }
    byOp.set('(wall: run + backward)', wall);
    if (r > 1) for (const [op, ms] of byOp) acc[i].set(op, [...(acc[i].get(op) ?? []), ms]);
  });
}
console.log(`${name}, ${build}, batch 32, median of ${acc[0].get('conv2d')?.length} alternating profiled steps`);
for (const op of acc[0].keys()) {
  console.log(op.padEnd(24), variants.map(([n], i) => `${n}: ${med(acc[i].get(op) ?? [0]).toFixed(2)} ms`).join('   '));
}
for (const p of plans) p.dispose();
