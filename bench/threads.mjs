// `node bench/threads.mjs` (part of `npm run bench`): the reference CNN forward at batch 1 and 32 and its
// training step at batch 32 on vireo with 1, 2, … threads, and in the same run onnxruntime-web
// (numThreads N) and @tensorflow/tfjs-backend-wasm (setThreadsCount N) forward at the same thread counts.
//
// Interleaving: vireo's thread counts share one process and alternate run by run; a peer's thread count is
// fixed per process, so each peer configuration is a child process, and the whole sequence repeats for
// several rounds (medians over rounds). cpu/wall is the process CPU time over wall time while timing: the
// cores an engine really kept busy (a peer that silently runs one thread shows ~1.0). A second table gives
// each configuration's fastest block over all rounds: on a shared VM a block is either undisturbed or
// slowed by other work (the disturbance only ever adds time), so the fastest blocks compare what the code
// does and the medians what this machine gave it during the run; both are printed, neither is hidden.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { f2, median, referenceCnn, table, writeJson } from './common.mjs';

// In the CommonJS bundle scripts/gpu-session.sh packs for a many-core machine (entry bench/threads-bundle.mjs),
// import.meta.url is empty and __filename names the bundle, which the children run again with --child.
const self = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');

export const usage = `usage: node bench/threads.mjs [--threads 1,2] [--rounds R] [--quick] [--no-peer] [--json] [--out FILE]

Reference CNN: forward at batch 1 and 32, training step at batch 32, on vireo with each thread count,
and forward on onnxruntime-web (numThreads) and tfjs-backend-wasm (setThreadsCount) with the same counts.
Prints ms (median over rounds), the speed-up over one thread, cpu/wall, and peer ms / vireo ms.`;

function seeded(n, seed) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

/** ms per call of each fn, alternating fns every `minMs` block: median and fastest of `blocks`; and cpu/wall per fn. */
async function timeInterleaved(fns, blocks, minMs) {
  const samples = fns.map(() => []);
  const cpu = fns.map(() => 0);
  const wall = fns.map(() => 0);
  for (let r = 0; r < blocks; r++) {
    for (const [k, fn] of fns.entries()) {
      let n = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      do {
        await fn();
        n++;
      } while (performance.now() - t0 < minMs);
      const dt = performance.now() - t0;
      const dc = process.cpuUsage(c0);
      samples[k].push(dt / n);
      cpu[k] += (dc.user + dc.system) / 1000;
      wall[k] += dt;
    }
  }
  return samples.map((s, k) => ({ ms: median(s), fastMs: Math.min(...s), cpuPerWall: cpu[k] / wall[k] }));
}

const SHAPE = [3, 32, 32];
const LR = 0.01;

// ------------------------------------------------------------------------------------------- children

async function childVireo(threads, quick) {
  const vireo = await import('vireo');
  const { nn, optim, tensor } = vireo;
  const base = referenceCnn(nn);
  const stateDict = base.stateDict();
  const results = {};
  const nets = [];
  for (const t of threads) {
    const net = referenceCnn(nn);
    net.loadStateDict(stateDict);
    net.eval();
    await net.to('wasm', { threads: t });
    const info = (await net.currentBackend()).info();
    nets.push({ t, net, info });
  }
  const blocks = quick ? 3 : 7;
  const minMs = quick ? 150 : 400;
  for (const batch of [1, 32]) {
    const x = tensor(seeded(batch * 3 * 32 * 32, batch), [batch, ...SHAPE]);
    const fns = nets.map(
      ({ net }) =>
        async () =>
          (await net.forward(x)).dataSync(),
    );
    for (const f of fns) for (let i = 0; i < 3; i++) await f();
    const timed = await timeInterleaved(fns, blocks, minMs);
    nets.forEach(({ t }, k) => {
      results[t] ??= {};
      results[t][`fwd${batch}`] = timed[k];
    });
  }
  for (const n of nets) n.net.releasePlans();
  // Training step at batch 32: forward, cross-entropy, backward, SGD momentum.
  const x = tensor(seeded(32 * 3 * 32 * 32, 7), [32, ...SHAPE]);
  const y = tensor(Array.from({ length: 32 }, (_, i) => i % 10));
  const steps = [];
  for (const { t, net } of nets) {
    net.train();
    await net.to('wasm', { threads: t });
    const opt = new optim.SGD(net.parameters(), { lr: LR, momentum: 0.9 });
    await opt.to(await net.currentBackend());
    const criterion = new nn.CrossEntropyLoss();
    steps.push(async () => {
      opt.zeroGrad();
      const loss = criterion.forward(await net.forward(x), y);
      await loss.backward();
      opt.step();
      return loss.dataSync()[0];
    });
  }
  for (const s of steps) for (let i = 0; i < 2; i++) await s();
  const timed = await timeInterleaved(steps, blocks, quick ? 300 : 800);
  nets.forEach(({ t, info }, k) => {
    results[t].train32 = timed[k];
    results[t].build = info.build;
    results[t].threadsRun = info.threads;
  });
  return results;
}

async function childOrt(threads, quick) {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const bytes = new Uint8Array(readFileSync(join(root, 'tests', 'fixtures', 'onnx', 'reference_cnn.onnx')));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const out = { build: `ort-web ${ort.env.versions?.web ?? ''}`.trim() };
  for (const batch of [1, 32]) {
    const shape = [batch, ...SHAPE];
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', seeded(batch * 3072, batch), shape) };
    const run = () => session.run(feeds);
    for (let i = 0; i < 3; i++) await run();
    out[`fwd${batch}`] = (await timeInterleaved([run], quick ? 3 : 7, quick ? 150 : 400))[0];
  }
  return out;
}

async function childTfjs(threads, quick) {
  const vireo = await import('vireo');
  const { tfjsPeer } = await import('./run.mjs');
  const net = referenceCnn(vireo.nn);
  const peer = await tfjsPeer(net.stateDict(), threads);
  const out = { build: `tfjs-wasm xnnpack${peer.simd ? '-simd' : ''}`, threadsRun: peer.threads };
  for (const batch of [1, 32]) {
    const run = peer.prepare(seeded(batch * 3072, batch), [batch, ...SHAPE]);
    for (let i = 0; i < 3; i++) run();
    out[`fwd${batch}`] = (await timeInterleaved([run], quick ? 3 : 7, quick ? 150 : 400))[0];
  }
  return out;
}

// ------------------------------------------------------------------------------------------- parent

function child(args) {
  const text = execFileSync(process.execPath, [self, '--child', ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(text.trim().split('\n').pop());
}

function parse(argv) {
  const o = {
    threads: [1, 2],
    rounds: 3,
    quick: false,
    peer: true,
    json: false,
    out: join(root, 'bench', 'results', 'threads.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') o.threads = argv[++i].split(',').map(Number);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-peer') o.peer = false;
    else if (a === '--json') o.json = true;
    else if (a === '--out') o.out = argv[++i];
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}\n${usage}`);
  }
  if (o.quick) o.rounds = Math.min(o.rounds, 2);
  return o;
}

export async function main(argv = process.argv.slice(2), log = console.log) {
  if (argv[0] === '--child') {
    const [, engine, threads, quick] = argv;
    const q = quick === 'quick';
    const r =
      engine === 'vireo'
        ? await childVireo(threads.split(',').map(Number), q)
        : engine === 'ort'
          ? await childOrt(Number(threads), q)
          : await childTfjs(Number(threads), q);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const o = parse(argv);
  if (o.help) {
    log(usage);
    return 0;
  }
  const say = o.json ? () => {} : log;
  const q = o.quick ? 'quick' : 'full';
  const samples = new Map(); // key engine:threads -> [{...}]
  const add = (key, r) => {
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key).push(r);
  };
  for (let round = 0; round < o.rounds; round++) {
    say(`round ${round + 1}/${o.rounds}`);
    const v = child(['vireo', o.threads.join(','), q]);
    for (const t of o.threads) add(`vireo:${t}`, v[t]);
    if (!o.peer) continue;
    for (const engine of ['ort', 'tfjs']) {
      for (const t of o.threads) {
        try {
          add(`${engine}:${t}`, child([engine, String(t), q]));
        } catch (e) {
          add(`${engine}:${t}`, { error: String(e?.message ?? e).split('\n')[0] });
        }
      }
    }
  }
  /** One row per configuration: each figure the median over rounds (`ms`) or the fastest block of all (`fastMs`). */
  const rowsBy = (stat) => {
    const rows = [];
    for (const [key, rs] of samples) {
      const [engine, t] = key.split(':');
      const ok = rs.filter((r) => !r.error);
      const m = (f) =>
        ok.length && ok[0][f] ? (stat === 'ms' ? median(ok.map((r) => r[f].ms)) : Math.min(...ok.map((r) => r[f].fastMs))) : null;
      const c = (f) => (ok.length && ok[0][f] ? median(ok.map((r) => r[f].cpuPerWall)) : null);
      rows.push({
        engine,
        threads: Number(t),
        build: ok[0]?.build ?? '-',
        threadsRun: ok[0]?.threadsRun ?? null,
        fwd1: m('fwd1'),
        fwd32: m('fwd32'),
        train32: m('train32'),
        cpu32: c('fwd32'),
        error: ok.length ? null : rs[0]?.error,
      });
    }
    return rows;
  };
  const rows = rowsBy('ms');
  const fastest = rowsBy('fastMs');
  const sp = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '-');
  const print = (title, rs) => {
    const one = (r, f) => rs.find((x) => x.engine === r.engine && x.threads === 1)?.[f];
    const vireoAt = (t, f) => rs.find((x) => x.engine === 'vireo' && x.threads === t)?.[f];
    say('');
    say(title);
    say(
      table(
        [
          'engine',
          'build',
          'threads',
          'fwd b1',
          'speed-up',
          'fwd b32',
          'speed-up',
          'cpu/wall',
          'train b32',
          'speed-up',
          'b1 vs vireo',
          'b32 vs vireo',
        ],
        rs.map((r) => [
          r.engine,
          r.build,
          `${r.threads}${r.threadsRun != null && r.threadsRun !== r.threads ? ` (ran ${r.threadsRun})` : ''}`,
          f2(r.fwd1),
          sp(one(r, 'fwd1'), r.fwd1),
          f2(r.fwd32),
          sp(one(r, 'fwd32'), r.fwd32),
          r.cpu32 == null ? '-' : r.cpu32.toFixed(2),
          f2(r.train32),
          sp(one(r, 'train32'), r.train32),
          r.engine === 'vireo' ? '-' : sp(r.fwd1, vireoAt(r.threads, 'fwd1')),
          r.engine === 'vireo' ? '-' : sp(r.fwd32, vireoAt(r.threads, 'fwd32')),
        ]),
      ),
    );
  };
  print(
    'reference CNN, ms per batch (median over rounds); speed-up = 1-thread ms / this ms; vs vireo = peer ms / vireo ms at the same threads',
    rows,
  );
  print("the same, from each configuration's fastest block over all rounds (cpu/wall still the median)", fastest);
  for (const r of rows) if (r.error) say(`${r.engine} ${r.threads} threads: ${r.error}`);
  const result = { date: new Date().toISOString(), rounds: o.rounds, quick: o.quick, rows, fastest };
  writeJson(o.out, result);
  if (o.json) log(JSON.stringify(result));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e?.message ?? e);
      process.exit(1);
    },
  );
}
