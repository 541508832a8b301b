import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Backend, type KernelFactory, hasKernel } from '../src/backends/backend.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import type { LayerTiming } from '../src/graph/executor.js';
import type { GraphNode } from '../src/graph/ir.js';
import { buildTrainingGraph, fingerprint, getBackend, nn, schedule } from '../src/index.js';
import { inferShapes } from '../src/graph/shapes.js';
import { nodeKey, timeUpdate, trainingKey } from '../src/scheduler/calibrate.js';
import type { OpName } from '../src/ops/types.js';
import { computedNodes, kernelTimes, matchSteps, timePlanKernels } from '../src/scheduler/calibrate-plan.js';

// Host candidates are calibrated in context: the model's whole plan runs on the candidate and each kernel's
// step time is read off its profile (calibrate-plan.ts). These tests check the mechanism — which kernels run,
// in what order, how the profile is matched to nodes — not timings, which no unit test can pin down.

const tiny = () =>
  new nn.Sequential({
    conv: new nn.Conv2d(3, 4, 3, { padding: 1 }),
    relu: new nn.ReLU(),
    pool: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(4 * 3 * 3, 5),
  });
// conv and relu are one fused node (layer 'conv+relu').
const forwardOps = ['conv2d', 'maxPool2d', 'linear'];

/**
 * The reference backend with every kernel run logged by op, and every gradient accumulation as 'accumulate'
 * (without `missing`, a candidate lacking that op); each pack (a kernel with parameters repacking them) in `packs`.
 */
function recording(name: string, log: string[], missing?: OpName, packs: string[] = []): Backend {
  const base = createReferenceBackend();
  const kernels: Record<string, KernelFactory | undefined> = {};
  for (const [op, factory] of Object.entries(base.kernels) as [OpName, KernelFactory][]) {
    kernels[op] =
      op === missing
        ? undefined
        : (ctx) => {
            const k = factory(ctx as never);
            return {
              ...k,
              run(inputs, output, scratch) {
                log.push(op);
                k.run(inputs, output, scratch);
              },
              // The reference kernels keep no packed weights: a pack here only says when one would run.
              pack() {
                packs.push(op);
                k.pack?.();
              },
            };
          };
  }
  const updates = {
    ...base.updates,
    accumulate(...args: Parameters<Backend['updates']['accumulate']>) {
      log.push('accumulate');
      base.updates.accumulate(...args);
    },
  };
  return { ...base, name, kernels: kernels as Backend['kernels'], updates };
}

/** How many times `seq` occurs in `log` as consecutive entries. */
function occurrences(log: readonly string[], seq: readonly string[]): number {
  let n = 0;
  for (let i = 0; i + seq.length <= log.length; i++) if (seq.every((op, k) => log[i + k] === op)) n++;
  return n;
}

const node = (name: string, op: string, fused?: string[]) => ({ name, op, fused }) as unknown as GraphNode;
const step = (name: string, op: string, ms: number) =>
  ({ name, op, ms, outputShape: [1], flops: 0, backend: 'b' }) as LayerTiming;

describe('calibration in context (calibrate-plan.ts)', () => {
  it("matches a profile's kernel steps to the nodes in order, with the packs before and gradient sums after each", () => {
    const nodes = [node('conv', 'conv2d'), node('fc', 'linear', ['relu']), node('fc', 'linearGradInput')];
    const run = (k: number) => [
      step('conv', 'pack', 100),
      step('fc', 'pack', 200),
      step('conv', 'conv2d', 1 * k),
      step('x', 'copy', 1000),
      step('fc+relu', 'linear', 2 * k),
      step('fc', 'gradAccumulate', 10),
      step('fc', 'gradAccumulate', 20),
      step('fc', 'pack', 400),
      step('fc', 'linearGradInput', 3 * k),
    ];
    // A pack goes to the next step of its node's name (the forward's, then the backward's); a copy to none.
    expect(matchSteps(nodes, [run(1), run(2)])).toEqual([
      [101, 102],
      [232, 234],
      [403, 406],
    ]);
    // A fused node is reported under its fused name; a profile that lacks a node does not line up.
    expect(matchSteps([node('fc', 'linear')], [run(1)])).toBeNull();
    expect(matchSteps(nodes, [run(1).slice(0, 4)])).toBeNull();
  });

  it("keeps each node's median over the runs; nodes sharing a key share their mean (the model's total is kept)", () => {
    const times = kernelTimes(
      ['a', 'b', 'a'],
      [
        [1, 9, 2],
        [3, 3, 3],
        [4, 4, 5],
      ],
    );
    expect(Object.fromEntries(times)).toEqual({ a: 3, b: 3 });
  });

  it('schedule() times a host candidate by running the whole plan, not each kernel alone', async () => {
    process.env.VIREO_CALIBRATION_CACHE = 'off';
    const log: string[] = [];
    const net = tiny();
    net.eval();
    const before = net.parameters().map((p) => ({ version: p.version, values: Array.from(p.values) }));
    const s = await schedule(net.toGraph([2, 3, 6, 6]), [2, 3, 6, 6], [recording('rec', log)]);
    expect(s?.measured).toBe(3);
    for (const line of s?.lines ?? []) expect(line.estimatedMs.rec).toBeGreaterThan(0);
    // Warm-up and profiled runs of the whole plan, back to back: the forward order, at least seven times over,
    // and more for a plan this small (the runs last a minimum time, not only a count).
    expect(occurrences(log, forwardOps)).toBeGreaterThanOrEqual(10);
    // The model's own parameters were neither changed nor used: calibration ran on fresh ones.
    net.parameters().forEach((p, i) => {
      expect(p.version).toBe(before[i].version);
      expect(Array.from(p.values)).toEqual(before[i].values);
    });
  });

  it('a training plan is timed whole too: forward and backward steps in one run', async () => {
    process.env.VIREO_CALIBRATION_CACHE = 'off';
    const log: string[] = [];
    const packs: string[] = [];
    const net = tiny();
    net.train();
    const s = await schedule(net.toGraph([2, 3, 6, 6]), [2, 3, 6, 6], [recording('rec', log, undefined, packs)], {
      training: true,
    });
    expect(s?.lines.find((l) => l.layer === 'conv+relu')?.estimatedMs.rec).toBeGreaterThan(0);
    // Each run: the forward order, then the backward kernels down to the first layer's weight gradient.
    const runs = log.join(',').match(/conv2d,maxPool2d,linear,([A-Za-z0-9]+,)*?conv2dGradWeight/g) ?? [];
    expect(runs.length).toBeGreaterThanOrEqual(7);
    // Each run starts from zeroed gradients, as a training step does: the kernels write them in place, and
    // no accumulation (a temporary added to a gradient already there) is timed.
    expect(log).not.toContain('accumulate');
    // and the weights changed after each run, as an optimizer's update does: every run repacks them.
    expect(packs.filter((op) => op === 'linear').length).toBeGreaterThanOrEqual(7);
  });

  it('a candidate that cannot run the whole plan has each of its kernels timed alone', async () => {
    process.env.VIREO_CALIBRATION_CACHE = 'off';
    const log: string[] = [];
    const lacking = recording('lacking', log, 'maxPool2d');
    const net = tiny();
    net.eval();
    const graph = net.toGraph([2, 3, 6, 6]);
    expect(timePlanKernels(graph, [2, 3, 6, 6], lacking, false)).toBeNull();
    expect(log).toEqual([]); // decided before running anything
    const s = await schedule(graph, [2, 3, 6, 6], [lacking, recording('full', [])]);
    const est = Object.fromEntries((s?.lines ?? []).map((l) => [l.layer, l.estimatedMs.lacking]));
    expect(est.pool).toBe(Number.POSITIVE_INFINITY);
    for (const layer of ['conv+relu', 'fc']) expect(est[layer]).toBeGreaterThan(0);
    // Timed alone: each kernel's own runs back to back (a warm-up and five), never the forward order.
    const six = (op: string) => Array<string>(6).fill(op);
    expect(log).toEqual([...six('conv2d'), ...six('linear')]);
    expect(hasKernel(lacking, 'maxPool2d')).toBe(false);
  });

  it("a layer's training cost: its kernels, and per trainable tensor the update's fixed cost plus its floats", async () => {
    // A complete cache with made-up numbers: the schedule is decided from it alone (nothing is timed).
    const dir = mkdtempSync(join(tmpdir(), 'vireo-calib-'));
    try {
      process.env.VIREO_CALIBRATION_CACHE = join(dir, 'calibration.json');
      const wasm = await getBackend('wasm');
      const net = tiny();
      net.train();
      const shape = [2, 3, 6, 6];
      const forward = net.toGraph(shape);
      const tg = buildTrainingGraph(forward, [shape]);
      const shapes = inferShapes(tg.graph, [shape, tg.outputShape]);
      // Training-step times under training keys (1 ms each), and the forward plan's under plain keys (0.25 ms
      // each): one cache holds both, and each schedule reads its own.
      const kernels: Record<string, number> = {};
      for (const n of computedNodes(tg.graph)) {
        const key = nodeKey(
          n,
          n.inputs.map((v) => shapes[v]),
          shapes[n.output],
        );
        kernels[trainingKey(key)] = 1;
        kernels[key] = 0.25;
      }
      const zero = { latencyMs: 0, msPerByte: 0 };
      const table = { kernels, copies: { 'host→wasm': zero, 'wasm→host': zero }, updateMsPerFloat: 1e-3, updateLatencyMs: 0.5 };
      writeFileSync(process.env.VIREO_CALIBRATION_CACHE, JSON.stringify({ version: 1, devices: { [fingerprint(wasm)]: table } }));
      const s = await schedule(forward, shape, [wasm], { training: true, measure: false });
      expect(s?.measured).toBe(0);
      const fcKernels = computedNodes(tg.graph).filter((n) => n.name === 'fc').length;
      // fc: weight [5, 36] and bias [5], two update calls.
      const fc = s?.lines.find((l) => l.layer === 'fc')?.estimatedMs.wasm;
      expect(fc).toBeCloseTo(fcKernels + 2 * 0.5 + (5 * 36 + 5) * 1e-3, 9);
      // The forward schedule from the same cache: fc's forward kernel at its forward-plan time, no update.
      net.eval();
      const f = await schedule(net.toGraph(shape), shape, [wasm], { measure: false });
      expect(f?.measured).toBe(0);
      expect(f?.lines.find((l) => l.layer === 'fc')?.estimatedMs.wasm).toBeCloseTo(0.25, 9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the update is measured as a fixed cost per call plus a cost per float, neither negative', async () => {
    const u = timeUpdate(await getBackend('wasm'));
    expect(u.latencyMs).toBeGreaterThanOrEqual(0);
    expect(u.msPerFloat).toBeGreaterThan(0);
  });
});
