import type { Parameter } from '../core/parameter.js';
import type { Shape } from '../core/shape.js';
import { type Backend, hasKernel } from '../backends/backend.js';
import type { LayerTiming } from '../graph/executor.js';
import { isTrainable } from '../graph/autodiff.js';
import { Graph, type GraphNode } from '../graph/ir.js';
import { Plan } from '../graph/plan.js';
import { TrainPlan } from '../graph/train-plan.js';
import { opDef } from '../ops/index.js';
import { calibrationInput, freshParameter, nodeKey, trainingKey } from './calibrate.js';

/**
 * Kernel timings in context, for a host-mappable candidate: the whole forward (or training) plan of the
 * model, placed on that one candidate, is run and profiled, and each kernel's step time is read off.
 *
 * Why not each kernel alone: a kernel in a plan follows another within microseconds, so the wasm pool's
 * workers are still spinning when its step starts; run alone in a plan of its own, each repetition is
 * separated by the host writing the inputs and reading the output, long enough for the workers to block in
 * Atomics.wait, and every step then pays their wake-up (30–60 µs measured here: 2–3× the time of a small
 * elementwise or pooling step), an error that depends on the layer. A training step also repacks the weights
 * an update changed, which no kernel run alone ever does. Timing the plan itself measures exactly what the
 * executor runs — the same steps, order, buffers and caches — and costs a handful of whole-plan runs
 * instead of one plan and six runs per distinct kernel.
 */

/**
 * Profiled runs read (after the warm-up runs): the median of each step over them — at least this many, and
 * at least PROFILED_MS of them, so a small plan (batch 1: well under a millisecond) is not read off a few ms
 * that one scheduler hiccup or a core not yet at speed decides.
 */
const PROFILED_RUNS = 5;
const PROFILED_MS = 30;
/** Whole-plan runs before the profiled ones (packing, first touch of memory, the pool's workers awake): at least this many and WARM_MS. */
const WARM_RUNS = 2;
const WARM_MS = 15;
/** Most runs of either kind, however small the plan. */
const MAX_RUNS = 200;

/** Calls `run` at least `runs` times and for at least `ms`, at most MAX_RUNS times; returns what each call returned. */
function repeat<T>(run: () => T, runs: number, ms: number): T[] {
  const out: T[] = [];
  const t0 = performance.now();
  while (out.length < MAX_RUNS && (out.length < runs || performance.now() - t0 < ms)) out.push(run());
  return out;
}

/** Nodes that run a kernel (alias ops share their input's memory and cost nothing). */
export function computedNodes(graph: Graph): GraphNode[] {
  return graph.nodes.filter((n) => !opDef(n.op).alias?.(n.attrs as never));
}

/**
 * `forward` with fresh parameters (a parameter shared by several nodes stays shared) and copied attributes,
 * so a dropout layer's generator does not advance. `unbind` releases the parameters' device memory.
 */
export function calibrationCopy(forward: Graph): { graph: Graph; unbind(): void } {
  const g = new Graph();
  const value = new Map<number, number>();
  for (const v of forward.inputs) value.set(v, g.addInput());
  const fresh = new Map<Parameter, Parameter>();
  for (const n of forward.nodes) {
    const params: Record<string, Parameter> = {};
    for (const [k, p] of Object.entries(n.params)) {
      if (!fresh.has(p)) fresh.set(p, freshParameter(p));
      params[k] = fresh.get(p) as Parameter;
    }
    const inputs = n.inputs.map((v) => value.get(v) as number);
    value.set(n.output, g.addNode(n.op, n.name, structuredClone(n.attrs) as never, inputs, params, n.fused));
  }
  g.outputs = forward.outputs.map((v) => value.get(v) as number);
  return {
    graph: g,
    unbind() {
      for (const p of fresh.values()) p.unbind();
    },
  };
}

/**
 * Each kernel step's time per profiled run, matched to the plan's computed nodes in order (the executor
 * makes one kernel step per computed node, in graph order). Counted with a step: the packs of its weights
 * that ran before it in its phase (a training step repacks every weight the optimizer changed) and the
 * accumulations of the parameter gradients it produced, which follow it. Copies are passed over: the copy
 * model costs them. Null when the profile does not line up with the nodes.
 */
export function matchSteps(nodes: readonly GraphNode[], runs: readonly LayerTiming[][]): number[][] | null {
  const times: number[][] = nodes.map(() => []);
  for (const layers of runs) {
    let j = 0;
    // Packs run at the start of each phase (forward, backward), named by their node, before its step.
    const packs = new Map<string, number>();
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const label = [n.name, ...(n.fused ?? [])].join('+');
      for (; j < layers.length && !(layers[j].op === n.op && layers[j].name === label); j++) {
        if (layers[j].op === 'pack') packs.set(layers[j].name, (packs.get(layers[j].name) ?? 0) + layers[j].ms);
      }
      if (j === layers.length) return null;
      // The gradient sums a step feeds follow it: they run on its layer's backend and are part of its cost.
      let ms = layers[j++].ms + (packs.get(n.name) ?? 0);
      packs.delete(n.name);
      while (j < layers.length && layers[j].op === 'gradAccumulate') ms += layers[j++].ms;
      times[i].push(ms);
    }
  }
  return times;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Per-key ms from matched step times: each node's median over the runs; nodes with the same key (the same
 * op, attributes and shapes twice in a model) share their mean, so the model's total is kept.
 */
export function kernelTimes(keys: readonly string[], times: readonly number[][]): Map<string, number> {
  const sums = new Map<string, { ms: number; count: number }>();
  keys.forEach((k, i) => {
    const s = sums.get(k) ?? { ms: 0, count: 0 };
    s.ms += median(times[i]);
    s.count++;
    sums.set(k, s);
  });
  return new Map([...sums].map(([k, s]) => [k, s.ms / s.count]));
}

/**
 * nodeKey → ms of every kernel of `forward`'s plan (its training plan when `training`, keyed by trainingKey) run whole on
 * `backend`, or null when that plan cannot run there (an op without a kernel on it, a plan that fails to
 * compile): the caller then times each kernel alone.
 */
export function timePlanKernels(
  forward: Graph,
  inputShape: Shape,
  backend: Backend,
  training: boolean,
): Map<string, number> | null {
  if (!backend.memory.readSync) return null;
  const copy = calibrationCopy(forward);
  const x = [calibrationInput(inputShape)];
  let plan: Plan | TrainPlan | null = null;
  try {
    let profile: () => LayerTiming[];
    let graph: Graph;
    let shapes: Shape[];
    if (training) {
      const tp = new TrainPlan(copy.graph, [inputShape], backend);
      const gradOutput = calibrationInput(tp.outputShape).map((v) => v / 100);
      plan = tp;
      graph = tp.training.graph;
      shapes = tp.shapes;
      const params = [...new Set(copy.graph.nodes.flatMap((n) => Object.values(n.params)))];
      const trained = params.filter(isTrainable);
      // Each run as a training step: from zeroed gradients (the optimizer's zeroGrad), so a layer's gradient
      // kernel writes in place instead of into a temporary added after; and the weights changed after it, as
      // the optimizer's update does, so the next run repacks them (at batch 1 about a third of cifar-net's
      // step). Marked after the run: the parameters are bound to the candidate's memory by then.
      profile = () => {
        for (const p of params) p.zeroGrad();
        const { layers } = tp.profileStep(x, gradOutput);
        for (const p of trained) p.markDeviceChanged();
        return layers;
      };
    } else {
      const p = new Plan(copy.graph, [inputShape], backend);
      plan = p;
      graph = copy.graph;
      shapes = p.shapes;
      profile = () => p.runProfiled(x).layers;
    }
    const nodes = computedNodes(graph);
    if (!nodes.every((n) => hasKernel(backend, n.op))) return null;
    repeat(profile, WARM_RUNS, WARM_MS);
    const times = matchSteps(nodes, repeat(profile, PROFILED_RUNS, PROFILED_MS));
    if (!times) return null;
    const keys = nodes.map((n) =>
      nodeKey(
        n,
        n.inputs.map((v) => shapes[v]),
        shapes[n.output],
      ),
    );
    return kernelTimes(training ? keys.map(trainingKey) : keys, times);
  } catch {
    return null; // a plan this candidate cannot hold whole (memory, a kernel that refuses a shape): timed alone
  } finally {
    plan?.dispose();
    copy.unbind();
  }
}
