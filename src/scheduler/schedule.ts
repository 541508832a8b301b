import { type Shape, sizeOf } from '../core/shape.js';
import { type Backend, hasKernel } from '../backends/backend.js';
import { buildTrainingGraph, isTrainable } from '../graph/autodiff.js';
import type { Graph, GraphNode } from '../graph/ir.js';
import { inferShapes } from '../graph/shapes.js';
import { opDef } from '../ops/index.js';
import { type AssignNode, HOST, assign } from './assign.js';
import { type Calibration, calibrationStore, fingerprint } from './cache.js';
import { type CopyCost, copyMs, nodeKey, timeCopy, timeNode, timeUpdate, trainingKey } from './calibrate.js';
import { timeCopyAsync, timeNodesAsync, timeUpdateAsync } from './calibrate-async.js';
import { timePlanKernels } from './calibrate-plan.js';
import { describeCandidate } from './candidates.js';

/** One layer's line of the placement report. */
export interface LayerPlacement {
  layer: string;
  op: string;
  outputShape: Shape;
  backend: string;
  /** Estimated ms on each candidate (forward, plus backward and the update when training); Infinity: no kernel. */
  estimatedMs: Record<string, number>;
}

export interface Schedule {
  /** Layer path → backend, for every layer. */
  layers: Map<string, Backend>;
  lines: LayerPlacement[];
  estimatedTotalMs: number;
  estimatedCopyMs: number;
  /** Kernel timings run for this schedule (0 when everything came from the cache). */
  measured: number;
  /**
   * Per candidate: how many of this plan's kernels have a measured time, and how many of those were screened
   * at batch 1 and scaled (calibrate-async.ts), whether measured now or taken from the cache.
   */
  timed: Record<string, { kernels: number; extrapolated: number }>;
  candidates: string[];
  /** Each candidate in words, in `candidates` order: 'wasm (relaxed-simd, 2 threads)'. */
  labels: string[];
  notes: string[];
}

let epoch = 0;

/**
 * Ends every calibration under way at its next kernel: what was measured is saved, the schedule is left
 * undecided, and the next calibration of the same plan measures only the rest. The `vireo` command calls it
 * when a command is done, so a process does not stay alive timing a GPU for a model it no longer runs.
 */
export function stopCalibrations(): void {
  epoch++;
}

/** A GPU kernel is screened out when its batch-1 time exceeds this many times the host's full-batch time… */
const PRUNE_FACTOR = 4;
/** …and this many ms (tiny kernels are noise, and cheap to time in full). */
const PRUNE_MIN_MS = 1;

interface Work {
  backend: Backend;
  key: string;
  node: GraphNode;
  inputShapes: Shape[];
  outputShape: Shape;
}

/** Nodes that run a kernel (alias ops share their input's memory and cost nothing), with their shapes. */
function computed(graph: Graph, shapes: Shape[]): { node: GraphNode; inputShapes: Shape[]; outputShape: Shape }[] {
  return graph.nodes
    .filter((n) => !opDef(n.op).alias?.(n.attrs as never))
    .map((node) => ({ node, inputShapes: node.inputs.map((v) => shapes[v]), outputShape: shapes[node.output] }));
}

/**
 * Measures (or takes from the cache) what the schedule needs, then assigns every layer to a candidate so the
 * total — kernels, copies, and for training the backward kernels, the updates and the gradients' copies back —
 * is least. `onProgress` hears each kernel timing as it runs (the CLI's progress line).
 */
export async function schedule(
  forward: Graph,
  inputShape: Shape,
  candidates: readonly Backend[],
  options: {
    training?: boolean;
    measure?: boolean;
    onProgress?: (done: number, total: number) => void;
    /** Runs each GPU timing alone (the compiled model's lock: a run of its own must not interleave with it). */
    exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  } = {},
): Promise<Schedule | null> {
  const training = options.training ?? false;
  const shapes = inferShapes(forward, [inputShape]);
  const nodes = computed(forward, shapes);
  let costed = nodes;
  if (training) {
    const tg = buildTrainingGraph(forward, [inputShape]);
    costed = computed(tg.graph, inferShapes(tg.graph, [inputShape, tg.outputShape]));
  }
  // A host candidate measures a training schedule's kernels inside training steps (calibrate-plan.ts) and
  // caches them under training keys; a GPU candidate times each kernel alone, the same for both schedules.
  const keyOf = (b: Backend, c: { node: GraphNode; inputShapes: Shape[]; outputShape: Shape }) => {
    const key = nodeKey(c.node, c.inputShapes, c.outputShape);
    return training && b.memory.readSync ? trainingKey(key) : key;
  };
  const store = await calibrationStore();
  const tables = new Map<Backend, Calibration>();
  for (const b of candidates) tables.set(b, (await store.load(fingerprint(b))) ?? { kernels: {}, copies: {} });

  // What is not cached yet: each distinct kernel once per candidate that has it.
  const work: Work[] = [];
  for (const b of candidates) {
    const table = tables.get(b) as Calibration;
    const seen = new Set<string>();
    for (const c of costed) {
      if (!hasKernel(b, c.node.op)) continue;
      const key = keyOf(b, c);
      if (key in table.kernels || seen.has(key)) continue;
      seen.add(key);
      work.push({ backend: b, key, ...c });
    }
  }
  // Without measuring (a first call that must not wait): decide only from a complete cache.
  const copiesCached = candidates.every((b) => {
    const t = tables.get(b) as Calibration;
    return Object.keys(t.copies).length > 0 && (!training || t.updateMsPerFloat !== undefined);
  });
  if (options.measure === false && (work.length > 0 || !copiesCached)) return null;
  const exclusive = options.exclusive ?? (<T>(fn: () => Promise<T>) => fn());
  const started = epoch;
  const stopped = () => epoch !== started;
  const saveAll = async () => {
    for (const b of candidates) await store.save(fingerprint(b), tables.get(b) as Calibration);
  };
  let done = 0;
  options.onProgress?.(0, work.length);
  const gpus = candidates.filter((b) => !b.memory.readSync);
  const hosts = candidates.filter((b) => b.memory.readSync);
  // Host candidates first, before any GPU plan is built: a GPU's pipelines compile on the CPU (Dawn's worker
  // threads, or the browser's GPU process on the same cores), and host kernels timed meanwhile came out up to
  // twice their time on a 2-core machine. Their times also bound the GPU's screening below. Each host
  // candidate's kernels are read off profiled runs of the whole plan placed on it (in context:
  // calibrate-plan.ts); one that cannot run the whole plan has each kernel timed alone. Under the lock: a
  // model's run across wasm and a GPU awaits mid-run, and the whole plan built here may grow wasm's memory.
  await exclusive(async () => {
    for (const b of hosts) {
      const mine = work.filter((w) => w.backend === b);
      if (mine.length === 0) continue;
      const table = tables.get(b) as Calibration;
      // Every kernel of the plan is kept, cached ones included: they were measured together, in one context.
      for (const [key, ms] of timePlanKernels(forward, inputShape, b, training) ?? []) table.kernels[key] = ms;
      for (const w of mine) {
        if (!(w.key in table.kernels)) table.kernels[w.key] = timeNode(w.node, w.inputShapes, w.backend);
        done++;
        options.onProgress?.(done, work.length);
      }
    }
  });
  if (stopped()) {
    await saveAll();
    return null;
  }
  // GPU candidates: their plans are built first (pipelines compile in parallel), then each GPU kernel is
  // timed by batches awaited on the device (calibrate-async.ts).
  // A GPU kernel slower at batch 1 than PRUNE_FACTOR times the fastest host candidate at the full batch is
  // not timed at the full batch (calibrate-async.ts); without a host time for it there is no bound.
  const bound = (w: Work) => {
    const times = hosts.map((b) => (tables.get(b) as Calibration).kernels[keyOf(b, w)] ?? Number.POSITIVE_INFINITY);
    return Math.max(PRUNE_MIN_MS, PRUNE_FACTOR * Math.min(...times));
  };
  for (const b of gpus) {
    const mine = work.filter((w) => w.backend === b);
    if (mine.length === 0) continue;
    const batch = inputShape[0];
    const items = mine.map((w) => ({
      node: w.node,
      inputShapes: w.inputShapes,
      screen: batch > 1 ? { inputShapes: w.inputShapes.map((s) => (s[0] === batch ? [1, ...s.slice(1)] : s)), batch } : undefined,
    }));
    const { ms, extrapolated } = await exclusive(() =>
      timeNodesAsync(
        items,
        b,
        (i) => bound(mine[i]),
        stopped,
        () => {
          done++;
          options.onProgress?.(done, work.length);
        },
      ),
    );
    const table = tables.get(b) as Calibration;
    const scaled = new Set(table.extrapolated ?? []);
    mine.forEach((w, i) => {
      if (!Number.isFinite(ms[i])) return; // stopped before its turn
      table.kernels[w.key] = ms[i];
      if (extrapolated[i]) scaled.add(w.key);
    });
    if (scaled.size) table.extrapolated = [...scaled];
    if (stopped()) {
      await saveAll();
      return null;
    }
  }
  // Copies between every pair of places (the host included), and the update's cost when training.
  const places: (Backend | null)[] = [null, ...candidates];
  const nameOf = (b: Backend | null) => (b ? b.name : 'host');
  const copyCost = new Map<string, CopyCost>();
  for (const from of places) {
    for (const to of places) {
      if (from === to || (!from && !to)) continue;
      const owner = (to ?? from) as Backend;
      const table = tables.get(owner) as Calibration;
      const k = `${nameOf(from)}→${nameOf(to)}`;
      const gpu = (from && !from.memory.readSync) || (to && !to.memory.readSync);
      table.copies[k] ??= gpu ? await exclusive(() => timeCopyAsync(from, to)) : timeCopy(from, to);
      copyCost.set(k, table.copies[k]);
    }
  }
  if (training) {
    for (const b of candidates) {
      const table = tables.get(b) as Calibration;
      if (table.updateMsPerFloat !== undefined) continue;
      if (b.memory.readSync) {
        const u = timeUpdate(b);
        table.updateMsPerFloat = u.msPerFloat;
        table.updateLatencyMs = u.latencyMs;
      } else table.updateMsPerFloat = await exclusive(() => timeUpdateAsync(b));
    }
  }
  for (const b of candidates) await store.save(fingerprint(b), tables.get(b) as Calibration);

  // Layer costs: a layer's forward node, its backward nodes (named after it) and its parameters' updates.
  const layerCost = (name: string, b: Backend): number => {
    const table = tables.get(b) as Calibration;
    let ms = 0;
    for (const c of costed) {
      if (c.node.name !== name && !c.node.name.startsWith(`${name}.`)) continue;
      if (!hasKernel(b, c.node.op)) return Number.POSITIVE_INFINITY;
      ms += table.kernels[keyOf(b, c)] ?? 0;
    }
    if (training) {
      // One update call per trainable tensor: its fixed cost, and its floats at the per-float rate.
      const trained = nodes
        .filter((c) => c.node.name === name)
        .flatMap((c) => Object.values(c.node.params))
        .filter(isTrainable);
      const floats = trained.reduce((a, p) => a + p.size, 0);
      ms += trained.length * (table.updateLatencyMs ?? 0) + floats * (table.updateMsPerFloat ?? 0);
    }
    return ms;
  };

  // The assignment problem over the forward nodes (values by alias root; each layer decided by its first node).
  const root = Array.from({ length: forward.numValues }, (_, i) => i);
  for (const n of forward.nodes) if (opDef(n.op).alias?.(n.attrs as never)) root[n.output] = root[n.inputs[0]];
  const problemNodes: AssignNode[] = nodes.map((c) => ({
    inputs: c.node.inputs.map((v) => root[v]),
    output: root[c.node.output],
    outputBytes: 4 * sizeOf(c.outputShape),
  }));
  const costs = nodes.map((c) => candidates.map((b) => layerCost(c.node.name, b)));
  const factor = training ? 2 : 1; // a value crossing forward is crossed back by its gradient
  const result = assign({
    nodes: problemNodes,
    inputs: forward.inputs.map((v) => ({ value: root[v], bytes: 4 * sizeOf(shapes[v]) })),
    outputs: forward.outputs.map((v) => root[v]),
    backends: candidates.length,
    cost: (i, b) => costs[i][b],
    copy: (bytes, from, to) => {
      const c = copyCost.get(`${nameOf(from === HOST ? null : candidates[from])}→${nameOf(to === HOST ? null : candidates[to])}`);
      const ms = c ? copyMs(c, bytes) : 0;
      return from === HOST || to === HOST ? ms : factor * ms;
    },
  });
  const layers = new Map<string, Backend>();
  const lines: LayerPlacement[] = [];
  nodes.forEach((c, i) => {
    const b = layers.get(c.node.name) ?? candidates[result.backends[i]];
    if (!layers.has(c.node.name)) {
      layers.set(c.node.name, b);
      lines.push({
        layer: [c.node.name, ...(c.node.fused ?? [])].join('+'),
        op: c.node.op,
        outputShape: c.outputShape,
        backend: b.name,
        estimatedMs: Object.fromEntries(candidates.map((cb, k) => [cb.name, costs[i][k]])),
      });
    }
  });
  const timed: Schedule['timed'] = {};
  for (const b of candidates) {
    const table = tables.get(b) as Calibration;
    const scaled = new Set(table.extrapolated ?? []);
    const keys = new Set(costed.filter((c) => hasKernel(b, c.node.op)).map((c) => keyOf(b, c)));
    const have = [...keys].filter((k) => k in table.kernels);
    timed[b.name] = { kernels: have.length, extrapolated: have.filter((k) => scaled.has(k)).length };
  }
  return {
    layers,
    lines,
    timed,
    estimatedTotalMs: result.totalMs,
    estimatedCopyMs: result.copyMs,
    measured: work.length,
    candidates: candidates.map((b) => b.name),
    labels: candidates.map(describeCandidate),
    notes: [...store.notes],
  };
}
