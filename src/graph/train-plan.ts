import { ShapeError, VireoError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import type { Backend, PreparedKernel } from '../backends/backend.js';
import { opDef } from '../ops/index.js';
import { type TrainingGraph, type TrainingGraphOptions, buildTrainingGraph, isTrainable } from './autodiff.js';
import type { Graph, GraphNode } from './ir.js';
import { type BufferRequest, alignUp, planBuffers } from './planner.js';
import type { LayerTiming } from './plan.js';
import { inferShapes, layerLabel, opLabel } from './shapes.js';

/**
 * acc += g, the host-side gradient accumulation. After optimizer.zeroGrad() (in place, torch 1.13's
 * default) acc holds zeros: checking that (a read-only scan) and copying g is about twice as fast
 * as the add loop on 4M floats (fc 4096->1024). Bit patterns other than zeros take the add.
 */
function accumulateGrad(acc: Float32Array, g: Float32Array): void {
  if (trainPlanTuning.zeroCheck && (trainPlanTuning.zeroScan === 'f64' ? allZeroF64(acc) : allPositiveZero(acc))) {
    acc.set(g);
    return;
  }
  for (let i = 0; i < acc.length; i++) acc[i] += g[i];
}

function allPositiveZero(a: Float32Array): boolean {
  const w = new Int32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

/**
 * The same check read as float64 pairs, four per iteration: 1.6x faster than the int32 scan (4M floats,
 * node 20: 1.4 vs 3.0 ms). A float64 compares equal to 0 for all-zero bits and for the sign bit alone, that
 * is a -0 in the odd float32 of the pair; copying g over a -0 is exact (-0 + x is x for every x, +0 and -0
 * included), so this accepts nothing the int32 scan would send to the add for another result than the
 * copy. Unaligned arrays use the int32 scan.
 */
function allZeroF64(a: Float32Array): boolean {
  if (a.byteOffset & 7) return allPositiveZero(a);
  const pairs = a.length >> 1;
  const w = new Float64Array(a.buffer, a.byteOffset, pairs);
  const end4 = pairs & ~3;
  let i = 0;
  for (; i < end4; i += 4) if (w[i] !== 0 || w[i + 1] !== 0 || w[i + 2] !== 0 || w[i + 3] !== 0) return false;
  for (; i < pairs; i++) if (w[i] !== 0) return false;
  // An odd length: the last float32 (no pair) is checked on its own; +0 or -0 (see above).
  return (a.length & 1) === 0 || a[a.length - 1] === 0;
}

/** Read at run time; for A/B benches (bench/train-ab.ts). */
export const trainPlanTuning: { zeroCheck: boolean; zeroScan: 'f64' | 'i32' } = { zeroCheck: true, zeroScan: 'f64' };

interface Step {
  node: GraphNode;
  kernel: PreparedKernel;
  inputs: number[];
  output: number;
  params: Parameter[];
  packedVersions: number[];
  /** Parameters whose gradient this step produces (accumulated right after it runs). */
  gradOf: Parameter[];
  flops: number;
}

/**
 * A forward graph and its backward pass compiled as one plan: the forward's saved activations, the
 * dropout masks and every gradient share one region placed by the liveness planner, so a warm
 * training step (run + backward) allocates nothing in the arena.
 */
export class TrainPlan {
  readonly shapes: Shape[];
  readonly inputShapes: Shape[];
  readonly outputShape: Shape;
  readonly training: TrainingGraph;
  private readonly forwardSteps: Step[] = [];
  private readonly backwardSteps: Step[] = [];
  private readonly valuePtr: number[];
  private readonly region: number;
  private readonly scratch: number;
  /** requiresGrad of every parameter when compiled: the backward graph depends on it. */
  private readonly gradSignature: string;
  private readonly params: Parameter[];
  private forwardCount = 0;
  /** Set while profiling: each kernel's time is appended. */
  private timings: LayerTiming[] | null = null;
  private backwardDoneFor = 0;
  private disposed = false;

  constructor(
    forward: Graph,
    inputShapes: readonly Shape[],
    readonly backend: Backend,
    options: TrainingGraphOptions = {},
  ) {
    this.training = buildTrainingGraph(forward, inputShapes, options);
    const { graph, forwardNodes, gradOutput, paramGrads } = this.training;
    this.shapes = inferShapes(graph, [...inputShapes, this.training.outputShape]);
    this.inputShapes = forward.inputs.map((_, i) => inputShapes[i]);
    this.outputShape = this.training.outputShape;
    this.params = [...new Set(forward.nodes.flatMap((n) => Object.values(n.params)))];
    this.gradSignature = TrainPlan.signature(this.params);

    const root = Array.from({ length: graph.numValues }, (_, i) => i);
    const computed: GraphNode[] = [];
    let firstBackward = -1;
    graph.nodes.forEach((node, i) => {
      if (opDef(node.op).alias?.(node.attrs as never)) root[node.output] = root[node.inputs[0]];
      else {
        if (i >= forwardNodes && firstBackward < 0) firstBackward = computed.length;
        computed.push(node);
      }
    });
    const forwardCount = firstBackward < 0 ? computed.length : firstBackward;
    const gradValues = new Map<number, Parameter[]>();
    for (const pg of paramGrads) gradValues.set(pg.value, [...(gradValues.get(pg.value) ?? []), pg.param]);

    const first = new Array<number>(graph.numValues).fill(Number.POSITIVE_INFINITY);
    const last = new Array<number>(graph.numValues).fill(-1);
    for (const v of graph.inputs) first[root[v]] = v === gradOutput ? forwardCount : -1;
    computed.forEach((node, i) => {
      first[root[node.output]] = Math.min(first[root[node.output]], i);
      for (const v of node.inputs) last[root[v]] = Math.max(last[root[v]], i);
    });
    // The output is read back after the last forward step; the gradient arrives after that.
    const out = root[this.training.output];
    last[out] = Math.max(last[out], forwardCount - 1, first[out]);
    for (const v of graph.inputs) last[root[v]] = Math.max(last[root[v]], first[root[v]], 0);
    for (const v of this.training.inputGrads) if (v !== null) last[root[v]] = Number.POSITIVE_INFINITY;

    const roots = [...new Set(root)].filter((v) => first[v] !== Number.POSITIVE_INFINITY);
    const requests: BufferRequest[] = roots.map((v) => ({
      bytes: 4 * sizeOf(this.shapes[v]),
      firstUse: first[v],
      lastUse: Math.max(last[v], first[v]),
    }));
    const layout = planBuffers(requests);

    try {
      this.prepareSteps(computed, forwardCount, gradValues);
    } catch (e) {
      // A missing or failing kernel: free what the kernels prepared so far hold in the arena.
      for (const s of [...this.forwardSteps, ...this.backwardSteps]) s.kernel.dispose?.();
      throw e;
    }

    const steps = [...this.forwardSteps, ...this.backwardSteps];
    const scratchBytes = Math.max(0, ...steps.map((s) => s.kernel.scratchBytes));
    this.region = backend.arena.alloc(layout.totalBytes + alignUp(scratchBytes) + 64);
    this.scratch = this.region + layout.totalBytes;
    const offsetOfRoot = new Map(roots.map((v, i) => [v, this.region + layout.offsets[i]]));
    this.valuePtr = root.map((r) => offsetOfRoot.get(r) ?? -1);
    for (const step of steps) {
      step.inputs = step.node.inputs.map((v) => this.valuePtr[v]);
      step.output = this.valuePtr[step.node.output];
    }
  }

  private prepareSteps(computed: GraphNode[], forwardCount: number, gradValues: Map<number, Parameter[]>): void {
    computed.forEach((node, i) => {
      const factory = this.backend.kernels[node.op] as ((ctx: unknown) => PreparedKernel) | undefined;
      if (!factory) throw new VireoError(`${layerLabel(node)}: backend '${this.backend.name}' has no ${opLabel(node.op)} kernel`);
      const kernel = factory({
        node,
        inputShapes: node.inputs.map((v) => this.shapes[v]),
        outputShape: this.shapes[node.output],
      });
      const params = Object.values(node.params);
      const step: Step = {
        node,
        kernel,
        inputs: [],
        output: 0,
        params,
        packedVersions: params.map(() => -1),
        gradOf: gradValues.get(node.output) ?? [],
        flops: opDef(node.op).flops(
          node.inputs.map((v) => this.shapes[v]),
          this.shapes[node.output],
          node.attrs as never,
        ),
      };
      (i < forwardCount ? this.forwardSteps : this.backwardSteps).push(step);
    });
  }

  static signature(params: readonly Parameter[]): string {
    return params.map((p) => (isTrainable(p) ? '1' : '0')).join('');
  }

  /** Same input shapes and the same set of trainable parameters as when compiled. */
  matches(inputShapes: readonly Shape[]): boolean {
    return (
      inputShapes.length === this.inputShapes.length &&
      inputShapes.every((s, i) => shapesEqual(s, this.inputShapes[i])) &&
      TrainPlan.signature(this.params) === this.gradSignature
    );
  }

  /** Bytes this plan holds in the arena for activations, saved values, gradients and scratch. */
  get activationBytes(): number {
    return this.scratch - this.region;
  }

  /** Counts forward runs: a backward pass belongs to the forward run it follows. */
  get generation(): number {
    return this.forwardCount;
  }

  private repack(steps: Step[]): void {
    for (const step of steps) {
      let changed = false;
      step.params.forEach((p, i) => {
        if (step.packedVersions[i] !== p.version) {
          step.packedVersions[i] = p.version;
          changed = true;
        }
      });
      if (!changed || !step.kernel.pack) continue;
      if (!this.timings) step.kernel.pack();
      else {
        const t0 = performance.now();
        step.kernel.pack();
        this.timings.push({
          name: step.node.name,
          op: 'pack',
          outputShape: this.shapes[step.node.output],
          ms: performance.now() - t0,
          flops: 0,
        });
      }
    }
  }

  /** Forward pass in training mode; keeps what the backward pass reads. Returns the output values. */
  run(inputs: readonly Float32Array[]): Float32Array {
    if (this.disposed) throw new VireoError('plan was disposed');
    const graph = this.training.graph;
    if (inputs.length !== this.inputShapes.length)
      throw new ShapeError(`model expects ${this.inputShapes.length} input(s), got ${inputs.length}`);
    inputs.forEach((x, i) => {
      const n = sizeOf(this.inputShapes[i]);
      if (x.length !== n)
        throw new ShapeError(`input ${i}: expected ${n} values for ${shapeToString(this.inputShapes[i])}, got ${x.length}`);
      this.backend.arena.f32(this.valuePtr[graph.inputs[i]], n).set(x);
    });
    this.repack(this.forwardSteps);
    for (const s of this.forwardSteps) this.exec(s);
    this.countBatchNormBatches();
    this.forwardCount++;
    const out = this.training.output;
    return this.backend.arena.f32(this.valuePtr[out], sizeOf(this.outputShape)).slice();
  }

  /** PyTorch increments num_batches_tracked once per training-mode forward of each BatchNorm. */
  private countBatchNormBatches(): void {
    for (const s of this.forwardSteps) {
      if (s.node.op !== 'batchNorm2d' || !(s.node as GraphNode<'batchNorm2d'>).attrs.training) continue;
      const counter = s.node.params.num_batches_tracked;
      if (!counter) continue;
      counter.values[0] += 1;
      counter.markChanged();
    }
  }

  /**
   * Backward pass of the latest forward run: dL/d(output) in, each trainable parameter's gradient
   * accumulated (+=) into `Parameter.grad` (allocated on first use).
   */
  backward(gradOutput: Float32Array, generation = this.forwardCount): void {
    if (this.disposed) {
      throw new VireoError(
        'backward: the training plan of this output was released (the model was recompiled: another backend, requiresGrad or train/eval change); run forward again',
      );
    }
    if (generation !== this.forwardCount) {
      throw new VireoError(
        'backward: the model ran forward again since this output was computed; call backward on the latest output',
      );
    }
    if (this.forwardCount === 0) throw new VireoError('backward: run the forward pass first');
    if (this.backwardDoneFor === this.forwardCount) {
      throw new VireoError('backward: already ran for this forward pass (its saved activations are freed); run forward again');
    }
    const n = sizeOf(this.outputShape);
    if (gradOutput.length !== n)
      throw new ShapeError(
        `backward: gradient has ${gradOutput.length} values, the output ${shapeToString(this.outputShape)} has ${n}`,
      );
    this.backwardDoneFor = this.forwardCount;
    const arena = this.backend.arena;
    arena.f32(this.valuePtr[this.training.gradOutput], n).set(gradOutput);
    this.repack(this.backwardSteps);
    for (const s of this.backwardSteps) {
      this.exec(s);
      if (s.gradOf.length === 0) continue;
      const t0 = this.timings ? performance.now() : 0;
      for (const p of s.gradOf) {
        const g = arena.f32(s.output, p.values.length);
        if (!p.grad) p.grad = g.slice();
        else accumulateGrad(p.grad, g);
      }
      if (this.timings) {
        this.timings.push({
          name: s.node.name,
          op: 'gradAccumulate',
          outputShape: this.shapes[s.node.output],
          ms: performance.now() - t0,
          flops: 0,
        });
      }
    }
  }

  private exec(s: Step): void {
    if (!this.timings) {
      s.kernel.run(s.inputs, s.output, this.scratch);
      return;
    }
    const t0 = performance.now();
    s.kernel.run(s.inputs, s.output, this.scratch);
    const ms = performance.now() - t0;
    const name = [s.node.name, ...(s.node.fused ?? [])].join('+');
    this.timings.push({ name, op: s.node.op, outputShape: this.shapes[s.node.output], ms, flops: s.flops });
  }

  /** One forward + backward, timing every kernel (forward steps first): the training benchmark's table. */
  profileStep(inputs: readonly Float32Array[], gradOutput: Float32Array): { output: Float32Array; layers: LayerTiming[] } {
    this.timings = [];
    try {
      const output = this.run(inputs);
      this.backward(gradOutput);
      return { output, layers: this.timings };
    } finally {
      this.timings = null;
    }
  }

  /** FLOPs of one forward + backward (multiply-adds count 2). */
  get totalFlops(): number {
    return [...this.forwardSteps, ...this.backwardSteps].reduce((a, s) => a + s.flops, 0);
  }

  /** After `backward`, dL/d(each input) when compiled with `inputGrads` (zeros where it does not depend). */
  inputGradients(): Float32Array[] {
    return this.training.inputGrads.map((v, i) => {
      const n = sizeOf(this.inputShapes[i]);
      return v === null ? new Float32Array(n) : this.backend.arena.f32(this.valuePtr[v], n).slice();
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of [...this.forwardSteps, ...this.backwardSteps]) s.kernel.dispose?.();
    this.backend.arena.release(this.region);
  }
}
