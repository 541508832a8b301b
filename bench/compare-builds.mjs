// A/B of this checkout against an earlier revision on the reference CNN: forward at batch 1 and 32 and one
// SGD training step at batch 32, on the best wasm build, the two builds interleaved round by round in one
// process (machine load hits both alike). The earlier revision is built in a temporary git worktree.
// Run: node bench/compare-builds.mjs [--rev REV] [--rounds N] [--threads N] [--json]   (default: HEAD~1, 9 rounds)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { f2, median, referenceCnn, table } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const rev = opt('--rev', 'HEAD~1');
const rounds = Number(opt('--rounds', '9'));
const json = args.includes('--json');
// Pins this checkout's wasm thread count (an earlier revision without threads ignores the option).
const threads = opt('--threads', null);
const toOptions = threads === null ? {} : { threads: Number(threads) };

function buildRevision(revision) {
  const dir = mkdtempSync(join(tmpdir(), 'vireo-ab-'));
  execFileSync('git', ['worktree', 'add', '--detach', dir, revision], { cwd: root, stdio: 'ignore' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('npm', ['run', '--silent', 'build:wasm'], { cwd: dir, stdio: 'ignore' });
  execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: dir, stdio: 'ignore' });
  return dir;
}

async function setup(dist, label) {
  const v = await import(pathToFileURL(join(dist, 'dist', 'index.js')).href);
  v.manualSeed(1);
  const make = () => referenceCnn(v.nn);
  const evalNet = make();
  await evalNet.to('wasm', toOptions);
  evalNet.eval();
  const trainNet = make();
  await trainNet.to('wasm', toOptions);
  trainNet.train();
  const sgd = new v.optim.SGD(trainNet.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  // The earlier engine ran updates on the host unless told the backend (its trainer did this).
  await sgd.to(await trainNet.currentBackend());
  const loss = new v.nn.CrossEntropyLoss();
  const x1 = v.tensor(
    new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i)),
    [1, 3, 32, 32],
  );
  const x32 = v.tensor(
    new Float32Array(32 * 3 * 32 * 32).map((_, i) => Math.sin(i)),
    [32, 3, 32, 32],
  );
  const labels = v.tensor(Array.from({ length: 32 }, (_, i) => i % 10));
  const build = (await evalNet.currentBackend()).info().build;
  return {
    label,
    build,
    forward1: async () => evalNet.forward(x1),
    forward32: async () => evalNet.forward(x32),
    train32: async () => {
      sgd.zeroGrad();
      const l = loss.forward(await trainNet.forward(x32), labels);
      await l.backward();
      sgd.step();
    },
  };
}

async function time(fn, reps) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / reps;
}

const baseDir = buildRevision(rev);
try {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  const base = execFileSync('git', ['rev-parse', '--short', rev], { cwd: root }).toString().trim();
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('build this checkout first (npm run build)');
  const sides = [await setup(baseDir, `before (${base})`), await setup(root, `after (${head})`)];
  const cases = [
    ['forward batch 1', 'forward1', 40],
    ['forward batch 32', 'forward32', 4],
    ['train step batch 32', 'train32', 2],
  ];
  const samples = sides.map(() => Object.fromEntries(cases.map(([, k]) => [k, []])));
  for (const s of sides) for (const [, k, reps] of cases) await time(s[k], reps); // warm-up: plans, packing
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [1, 0] : [0, 1];
    for (const [, k, reps] of cases) for (const i of order) samples[i][k].push(await time(sides[i][k], reps));
  }
  const rows = cases.map(([name, k]) => {
    const [b, a] = samples.map((s) => median(s[k]));
    return [name, f2(b), f2(a), `${((a / b - 1) * 100).toFixed(1)}%`];
  });
  const result = {
    rev: base,
    head,
    build: sides[1].build,
    rounds,
    cases: Object.fromEntries(cases.map(([n, k]) => [n, samples.map((s) => median(s[k]))])),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`reference CNN, wasm:${sides[1].build}, medians of ${rounds} interleaved rounds (ms)`);
    console.log(table(['case', sides[0].label, sides[1].label, 'after/before − 1'], rows, ['l']));
  }
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', baseDir], { cwd: root, stdio: 'ignore' });
  rmSync(baseDir, { recursive: true, force: true });
}
