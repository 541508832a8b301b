// `vireo bench --placement`: where `auto` puts each layer of a model on this device, the placement report
// (each candidate's estimate, the measured time, copies), and the chosen placement's forward and training
// step against every single-backend plan, measured in the same run, interleaved. Imports the package entry.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError, f2, median, runIfMain, table } from './common.mjs';

export { UsageError };

/** A candidate estimated this many times slower than auto is not timed alone unless --all. */
const SLOW = 20;
/** ms a timed sample should last. */
const SAMPLE_MS = 250;

// import.meta is empty where bench/gpu.mjs bundles this file as CommonJS: it calls measurePlacement only.
const root = resolve(import.meta.dirname ?? '.', '..');

export const usage = `usage: vireo bench --placement [--model small-cnn|cifar-net|DIR] [--batch N] [--rounds N] [--all] [--json]

Calibrates 'auto' for the model at this batch size (cached per device; webgpu is a candidate where an
adapter exists), prints each candidate's calibration and estimated totals and the placement report, then
times the auto placement and each candidate backend alone, forward and one SGD training step, interleaved.

  --model M    small-cnn (default), cifar-net, or a model directory (model.json + weights.safetensors)
  --batch N    batch size (default 32)
  --rounds N   interleaved rounds (default 7; each the median of several calls)
  --all        also time alone a candidate estimated over ${SLOW}× slower than auto (a CPU adapter such as
               SwiftShader: skipped by default, its estimate shown instead)
  --json       one JSON object instead of tables`;

function parse(argv) {
  const o = { model: 'small-cnn', batch: 32, rounds: 7, all: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--placement') continue;
    else if (a === '--model') o.model = next();
    else if (a === '--batch' || a === '--rounds') {
      const v = next();
      if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`${a} must be a positive integer, got '${v}'`);
      o[a.slice(2)] = Number(v);
    } else if (a === '--json') o.json = true;
    else if (a === '--all') o.all = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new UsageError(`unknown option '${a}'`);
  }
  return o;
}

async function loadNet(v, model) {
  if (model === 'small-cnn' || model === 'cifar-net') {
    const zoo = await import(pathToFileURL(join(root, 'dist', 'cli', 'zoo.js')).href);
    const shape = model === 'small-cnn' ? [1, 28, 28] : [3, 32, 32];
    return { net: zoo.buildModel(model, shape, 10), shape, classes: 10 };
  }
  const dir = resolve(model);
  if (!existsSync(join(dir, 'model.json')))
    throw new UsageError(`--model ${model}: not small-cnn, cifar-net or a model directory`);
  const { model: net, meta } = await v.loadModel(dir);
  return { net, shape: meta.inputShape, classes: meta.classes.length };
}

export async function main(argv = process.argv.slice(2), log = console.log) {
  const o = parse(argv);
  if (o.help) {
    log(usage);
    return 0;
  }
  const v = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  v.manualSeed(1);
  const { net, shape, classes } = await loadNet(v, o.model);
  const m = await measurePlacement(v, {
    net,
    copy: async () => (await loadNet(v, o.model)).net,
    shape,
    classes,
    batch: o.batch,
    rounds: o.rounds,
    all: o.all,
    progress: !o.json && process.stderr.isTTY,
  });
  if (o.json) log(JSON.stringify({ model: o.model, ...m.result }));
  else printPlacement(log, o.model, m);
  return 0;
}

/**
 * Calibrates `net` under auto at this batch size, then times auto, each candidate alone and a second wasm-only
 * model (the noise floor), forward and one SGD step, interleaved. `copy()` makes another model of the same
 * architecture (its weights are loaded from `net`). Also used by bench/gpu.mjs --placement on a GPU machine.
 */
export async function measurePlacement(v, { net, copy, shape, classes, batch, rounds = 7, all = false, progress = false }) {
  const inputShape = [batch, ...shape];
  const n = inputShape.reduce((a, b) => a * b, 1);
  const x = v.tensor(
    new Float32Array(n).map((_, i) => Math.sin(i * 0.37)),
    inputShape,
  );
  const labels = v.tensor(Array.from({ length: batch }, (_, i) => i % classes));
  let lastProgress = '';
  await net.to('auto', {
    onCalibration: (done, total) => {
      const line = `calibrating: ${done}/${total} kernel timings`;
      if (line !== lastProgress && progress) process.stderr.write(`\r${line}`);
      lastProgress = line;
    },
  });
  const compiled = await net.compiledModel();
  const candidates = compiled.auto.candidates.map((b) => b.name);
  const names = compiled.auto.candidates.map((b) => v.describeCandidate(b));
  // Decide both placements (forward, training) now: calibration runs here, not inside the timed rounds. The
  // first call of each runs at once on the first candidate; the calibration is awaited, then the next switches.
  // Each calibration's wall time is kept (with the one call it follows): on a cold cache, what `auto` costs.
  let t0 = performance.now();
  net.eval();
  await net.forward(x);
  await compiled.calibration(inputShape, false);
  const calibrationForwardMs = performance.now() - t0;
  await net.forward(x);
  const report = (await net.plan(inputShape)).report([x.dataSync()]);
  // Read now: a schedule is kept per layer modes, and train() changes them.
  const forwardSchedule = compiled.scheduleFor(inputShape, false);
  net.train();
  const loss = new v.nn.CrossEntropyLoss();
  /** A training step of `model` (its own SGD momentum state): zeroGrad, forward, cross-entropy, backward, update. */
  const stepOf = (model) => {
    const sgd = new v.optim.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9 });
    return async () => {
      sgd.zeroGrad();
      await loss.forward(await model.forward(x), labels).backward();
      sgd.step();
    };
  };
  const step = stepOf(net);
  t0 = performance.now();
  await step();
  await compiled.calibration(inputShape, true);
  const calibrationTrainMs = performance.now() - t0;
  await step();
  if (progress && lastProgress) process.stderr.write('\n');
  const trainSchedule = compiled.scheduleFor(inputShape, true);
  // Each candidate's calibration: kernels timed (and how many screened at batch 1), and the estimated total
  // with every layer on it — what auto weighed against its own estimate.
  const allOn = (s, c) => (s ? s.lines.reduce((a, l) => a + l.estimatedMs[c], 0) : null);
  const calibration = candidates.map((c, i) => ({
    candidate: c,
    label: names[i],
    kernels: trainSchedule?.timed[c]?.kernels ?? forwardSchedule?.timed[c]?.kernels ?? 0,
    screened: trainSchedule?.timed[c]?.extrapolated ?? 0,
    estimatedForwardMs: allOn(forwardSchedule, c),
    estimatedTrainMs: allOn(trainSchedule, c),
  }));
  const slow = (c) =>
    !all &&
    candidates.length > 1 &&
    (allOn(forwardSchedule, c) > SLOW * (forwardSchedule?.estimatedTotalMs ?? Number.POSITIVE_INFINITY) ||
      allOn(trainSchedule, c) > SLOW * (trainSchedule?.estimatedTotalMs ?? Number.POSITIVE_INFINITY));
  const alone = candidates.filter((c) => !slow(c));
  // Every target is its own model (the same weights), placed once: a round only runs them, so what is timed
  // is the placement, not a re-placement (moving parameters, compiling plans) before each sample. A second
  // wasm-only model, timed like the others, is the noise floor: two identical placements differ by that much
  // in this run, and a gap between auto and wasm smaller than it is not a finding.
  const control = alone.includes('wasm') ? 'wasm (copy)' : null;
  const targets = ['auto', ...alone, ...(control ? [control] : [])];
  const models = { auto: { net, step } };
  const weights = net.stateDict();
  for (const t of targets.slice(1)) {
    const other = await copy();
    other.loadStateDict(weights);
    await other.to(t === control ? 'wasm' : t);
    models[t] = { net: other, step: stepOf(other) };
  }
  const samples = Object.fromEntries(targets.map((t) => [t, { forward: [], train: [] }]));
  const time = async (fn, reps) => {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) await fn();
    return (performance.now() - t0) / reps;
  };
  // Calls per sample: enough for about SAMPLE_MS each (a sample of one or two calls is all noise on a shared
  // machine), the same count for every target.
  const repsFor = (ms) => Math.max(2, Math.min(50, Math.ceil(SAMPLE_MS / Math.max(ms, 0.01))));
  for (const t of targets) {
    // Compile each target's plans (eval and training) before any timing.
    models[t].net.eval();
    await models[t].net.forward(x);
    models[t].net.train();
    await models[t].step();
  }
  net.eval();
  const forwardReps = repsFor(await time(() => net.forward(x), 2));
  net.train();
  const trainReps = repsFor(await time(step, 2));
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      const m = models[t];
      m.net.eval();
      await m.net.forward(x);
      samples[t].forward.push(await time(() => m.net.forward(x), forwardReps));
      m.net.train();
      await m.step();
      samples[t].train.push(await time(m.step, trainReps));
    }
  }
  for (const t of targets.slice(1)) models[t].net.releasePlans();
  net.releasePlans();
  const result = {
    batch,
    candidates,
    labels: names,
    calibration,
    placement: { forward: placementWords(forwardSchedule), train: placementWords(trainSchedule) },
    notTimedAlone: candidates.filter((c) => !alone.includes(c)),
    control,
    forwardMs: Object.fromEntries(targets.map((t) => [t, median(samples[t].forward)])),
    trainStepMs: Object.fromEntries(targets.map((t) => [t, median(samples[t].train)])),
    // Each target's fastest sample too: on a shared VM a sample is either undisturbed or slowed by a whole
    // time slice (a core taken away mid-sample), so the medians move with how many rounds were disturbed,
    // while the fastest rounds compare the placements themselves.
    forwardMinMs: Object.fromEntries(targets.map((t) => [t, Math.min(...samples[t].forward)])),
    trainStepMinMs: Object.fromEntries(targets.map((t) => [t, Math.min(...samples[t].train)])),
    calibrationMs: { forward: calibrationForwardMs, train: calibrationTrainMs },
    estimatedForwardMs: forwardSchedule?.estimatedTotalMs ?? null,
    estimatedTrainMs: trainSchedule?.estimatedTotalMs ?? null,
    rounds,
    forwardReps,
    trainReps,
  };
  return { result, report, alone, targets };
}

/** The tables of one measurePlacement run, headed by the model's name. */
export function printPlacement(log, model, { result, report, alone, targets }) {
  const { candidates, control } = result;
  log(`${model}, batch ${result.batch}: auto placement (candidates: ${result.labels.join('; ')})`);
  log('');
  log(
    table(
      ['candidate', 'kernels timed', 'screened at batch 1', 'est forward ms (all on it)', 'est train step ms (all on it)'],
      result.calibration.map((c) => [
        c.label,
        String(c.kernels),
        String(c.screened),
        f2(c.estimatedForwardMs),
        f2(c.estimatedTrainMs),
      ]),
      ['l'],
    ),
  );
  log(`chosen placement: forward ${result.placement.forward}; training ${result.placement.train}`);
  const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
  log(
    `calibration (wall, with the call it follows; near 0 when cached): forward ${secs(result.calibrationMs.forward)}, training ${secs(result.calibrationMs.train)}`,
  );
  log('');
  log(report);
  log('');
  const best = (k) => Math.min(...alone.map((c) => result[k][c]));
  log(
    table(
      ['placement', 'forward ms', 'train step ms', 'forward vs best single', 'train vs best single'],
      targets.map((t) => [
        t,
        f2(result.forwardMs[t]),
        f2(result.trainStepMs[t]),
        `${((result.forwardMs[t] / best('forwardMs') - 1) * 100).toFixed(1)}%`,
        `${((result.trainStepMs[t] / best('trainStepMs') - 1) * 100).toFixed(1)}%`,
      ]),
      ['l'],
    ),
  );
  const gaps = (of) => {
    const pct = (k) => `${((result[k][of] / result[k].wasm - 1) * 100).toFixed(1)}%`;
    return `forward ${pct('forwardMs')}, train step ${pct('trainStepMs')} (fastest rounds: forward ${pct('forwardMinMs')}, train step ${pct('trainStepMinMs')})`;
  };
  if (alone.includes('wasm') && candidates.length > 1) log(`auto vs wasm alone: ${gaps('auto')}`);
  if (control) log(`noise floor (a second wasm-only model vs the first): ${gaps(control)}`);
  if (result.estimatedForwardMs !== null || result.estimatedTrainMs !== null) {
    // The cost model's own error: what auto expected its placement to cost against what it measured here.
    const err = (est, got) =>
      est === null
        ? 'not calibrated'
        : `estimated ${f2(est)} ms, measured ${f2(got)} ms (${(((est - got) / got) * 100).toFixed(1)}%)`;
    log(
      `cost model: forward ${err(result.estimatedForwardMs, result.forwardMs.auto)}; train step ${err(result.estimatedTrainMs, result.trainStepMs.auto)}`,
    );
  }
  for (const c of result.notTimedAlone) {
    const e = result.calibration.find((k) => k.candidate === c);
    log(
      `${c} not timed alone: estimated ${f2(e.estimatedForwardMs)} ms forward, ${f2(e.estimatedTrainMs)} ms per step (over ${SLOW}× auto's; --all times it)`,
    );
  }
  log(
    `medians of ${result.rounds} interleaved rounds (${result.forwardReps} forwards, ${result.trainReps} training steps each), each target its own model placed once; 'auto' with one candidate is that candidate's plan.`,
  );
}

/** A schedule's placement in words: 'all on wasm', 'wasm 12 layers, webgpu 3 layers'. */
function placementWords(s) {
  if (!s) return 'the only candidate';
  const count = new Map();
  for (const b of s.layers.values()) count.set(b.name, (count.get(b.name) ?? 0) + 1);
  if (count.size === 1) return `all on ${[...count.keys()][0]}`;
  return [...count].map(([n, c]) => `${n} ${c} layer${c === 1 ? '' : 's'}`).join(', ');
}

runIfMain(import.meta.url, () => main(), 'bench/placement.mjs', usage);
