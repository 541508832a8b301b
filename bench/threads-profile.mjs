// `node bench/threads-profile.mjs [--threads 1,2] [--runs N]`: where the time of the reference CNN goes per
// step at each wasm thread count, to find the steps that do not scale. Forward at batch 1 and 32
// (Plan.runProfiled) and the training step at batch 32 (TrainPlan.profileStep, then zeroGrad and the SGD
// momentum update timed by hand). The thread counts alternate run by run in one process, so load from other
// processes hits them alike; each step's ms is the median over the runs. Prints one table per workload:
// step, op, ms at each thread count, and the speed-up of the last count over the first.
import { f2, median, referenceCnn, table } from './common.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const threads = opt('--threads', '1,2').split(',').map(Number);
const runs = Number(opt('--runs', '15'));

const vireo = await import('vireo');
const { nn, optim } = vireo;

function seeded(n, seed) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

const base = referenceCnn(nn);
const stateDict = base.stateDict();
const nets = [];
for (const t of threads) {
  const net = referenceCnn(nn);
  net.loadStateDict(stateDict);
  await net.to('wasm', { threads: t });
  nets.push({ t, net });
}

/** Runs `profile(k)` for each net, alternating, `runs` times after 2 warm-ups; median ms per step name. */
function collect(profiles) {
  const samples = profiles.map(() => new Map());
  const order = [];
  for (let r = 0; r < runs + 2; r++) {
    profiles.forEach((profile, k) => {
      const rows = profile();
      if (r < 2) return;
      rows.forEach(({ name, op, ms }, i) => {
        const key = `${i}\u0000${name}\u0000${op}`;
        if (k === 0 && r === 2) order.push(key);
        if (!samples[k].has(key)) samples[k].set(key, []);
        samples[k].get(key).push(ms);
      });
    });
  }
  return order.map((key) => {
    const [, name, op] = key.split('\u0000');
    return { name, op, ms: samples.map((s) => median(s.get(key) ?? [Number.NaN])) };
  });
}

function print(title, rows) {
  const last = threads.length - 1;
  const total = rows.reduce(
    (acc, r) => r.ms.map((m, k) => acc[k] + m),
    threads.map(() => 0),
  );
  console.log(`\n${title}`);
  console.log(
    table(
      ['step', 'op', ...threads.map((t) => `${t}t ms`), 'speed-up', 'saved ms'],
      [...rows, { name: 'total', op: '', ms: total }].map((r) => [
        r.name,
        r.op,
        ...r.ms.map(f2),
        `${(r.ms[0] / r.ms[last]).toFixed(2)}×`,
        f2(r.ms[0] - r.ms[last]),
      ]),
      ['l', 'l'],
    ),
  );
}

for (const batch of [1, 32]) {
  const x = [seeded(batch * 3072, batch)];
  const plans = [];
  for (const { net } of nets) {
    net.eval();
    plans.push(await net.plan([batch, 3, 32, 32]));
  }
  print(`forward, batch ${batch}`, collect(plans.map((p) => () => p.runProfiled(x).layers.filter((l) => l.op !== 'pack'))));
}

{
  const batch = 32;
  const x = [seeded(batch * 3072, 7)];
  const gradOut = seeded(batch * 10, 3).map((v) => v / batch);
  const steps = [];
  for (const { net } of nets) {
    net.train();
    const plan = await net.trainPlan([batch, 3, 32, 32]);
    const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    await opt.to(await net.currentBackend());
    steps.push(() => {
      const t0 = performance.now();
      opt.zeroGrad();
      const t1 = performance.now();
      const { layers } = plan.profileStep(x, gradOut);
      const t2 = performance.now();
      opt.step();
      const t3 = performance.now();
      // Packs (the weights changed since the last step) come first in step order: one row per layer.
      const inSteps = layers.reduce((a, l) => a + l.ms, 0);
      return [
        { name: 'zeroGrad', op: 'optimizer', ms: t1 - t0 },
        ...layers,
        { name: 'outside steps', op: 'host', ms: t2 - t1 - inSteps },
        { name: 'SGD momentum', op: 'optimizer', ms: t3 - t2 },
      ];
    });
  }
  print(`training step, batch ${batch} (zeroGrad, forward + backward, SGD momentum)`, collect(steps));
}
process.exit(0);
