import { ShapeError, VireoError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import type { Backend, PreparedKernel } from '../backends/backend.js';
import { opDef } from '../ops/index.js';
import type { Graph, GraphNode } from './ir.js';
import { type BufferRequest, alignUp, planBuffers } from './planner.js';
import { inferShapes, layerLabel, opLabel } from './shapes.js';

interface Step {
  node: GraphNode;
  kernel: PreparedKernel;
  inputs: number[];
  output: number;
  params: Parameter[];
  packedVersions: number[];
  flops: number;
}

export interface LayerTiming {
  name: string;
  op: string;
  outputShape: Shape;
  ms: number;
  flops: number;
}

/**
 * A graph compiled for one backend and fixed input shapes: kernels chosen, parameters packed and every
 * buffer placed once. `run` allocates nothing in the backend's arena.
 */
export class Plan {
  readonly shapes: Shape[];
  readonly inputShapes: Shape[];
  readonly outputShapes: Shape[];
  private readonly steps: Step[] = [];
  private readonly valuePtr: number[];
  private readonly region: number;
  private readonly scratch: number;
  private disposed = false;

  constructor(
    readonly graph: Graph,
    inputShapes: readonly Shape[],
    readonly backend: Backend,
  ) {
    this.shapes = inferShapes(graph, inputShapes);
    this.inputShapes = graph.inputs.map((v) => this.shapes[v]);
    this.outputShapes = graph.outputs.map((v) => this.shapes[v]);

    // Alias ops (flatten, eval dropout) reuse their input's memory: map each value to its root.
    const root = Array.from({ length: graph.numValues }, (_, i) => i);
    const computed: GraphNode[] = [];
    for (const node of graph.nodes) {
      const def = opDef(node.op);
      if (def.alias?.(node.attrs as never)) root[node.output] = root[node.inputs[0]];
      else computed.push(node);
    }

    const first = new Array<number>(graph.numValues).fill(Number.POSITIVE_INFINITY);
    const last = new Array<number>(graph.numValues).fill(-1);
    for (const v of graph.inputs) first[root[v]] = -1;
    computed.forEach((node, i) => {
      first[root[node.output]] = Math.min(first[root[node.output]], i);
      for (const v of node.inputs) last[root[v]] = Math.max(last[root[v]], i);
    });
    for (const v of graph.outputs) last[root[v]] = Number.POSITIVE_INFINITY;
    for (const v of graph.inputs) last[root[v]] = Math.max(last[root[v]], 0);

    const roots = [...new Set(root)].filter((v) => first[v] !== Number.POSITIVE_INFINITY);
    const requests: BufferRequest[] = roots.map((v) => ({
      bytes: 4 * sizeOf(this.shapes[v]),
      firstUse: first[v],
      lastUse: Math.max(last[v], first[v]),
    }));
    const layout = planBuffers(requests);

    try {
      this.prepareSteps(computed);
    } catch (e) {
      // Kernels prepared before the failing one hold packed weights in the arena: give them back.
      for (const s of this.steps) s.kernel.dispose?.();
      throw e;
    }

    const scratchBytes = Math.max(0, ...this.steps.map((s) => s.kernel.scratchBytes));
    const arena = backend.arena;
    this.region = arena.alloc(layout.totalBytes + alignUp(scratchBytes) + 64);
    this.scratch = this.region + layout.totalBytes;
    const offsetOfRoot = new Map(roots.map((v, i) => [v, this.region + layout.offsets[i]]));
    this.valuePtr = root.map((r) => offsetOfRoot.get(r) ?? -1);
    for (const step of this.steps) {
      step.inputs = step.node.inputs.map((v) => this.valuePtr[v]);
      step.output = this.valuePtr[step.node.output];
    }
  }

  private prepareSteps(computed: readonly GraphNode[]): void {
    for (const node of computed) {
      const factory = this.backend.kernels[node.op] as ((ctx: unknown) => PreparedKernel) | undefined;
      if (!factory) {
        throw new VireoError(`${layerLabel(node)}: backend '${this.backend.name}' has no ${opLabel(node.op)} kernel`);
      }
      const kernel = factory({
        node,
        inputShapes: node.inputs.map((v) => this.shapes[v]),
        outputShape: this.shapes[node.output],
      });
      const params = Object.values(node.params);
      this.steps.push({
        node,
        kernel,
        inputs: [],
        output: 0,
        params,
        packedVersions: params.map(() => -1),
        flops: opDef(node.op).flops(
          node.inputs.map((v) => this.shapes[v]),
          this.shapes[node.output],
          node.attrs as never,
        ),
      });
    }
  }

  /** Bytes this plan holds in the arena for activations and scratch. */
  get activationBytes(): number {
    return this.scratch - this.region;
  }

  private repackChangedParams(): void {
    for (const step of this.steps) {
      let changed = false;
      step.params.forEach((p, i) => {
        if (step.packedVersions[i] !== p.version) {
          step.packedVersions[i] = p.version;
          changed = true;
        }
      });
      if (changed) step.kernel.pack?.();
    }
  }

  private writeInputs(inputs: readonly Float32Array[]): void {
    if (this.disposed) throw new VireoError('plan was disposed');
    if (inputs.length !== this.graph.inputs.length) {
      throw new ShapeError(`model expects ${this.graph.inputs.length} input(s), got ${inputs.length}`);
    }
    this.graph.inputs.forEach((v, i) => {
      const n = sizeOf(this.shapes[v]);
      if (inputs[i].length !== n) {
        throw new ShapeError(`input ${i}: expected ${n} values for ${shapeToString(this.shapes[v])}, got ${inputs[i].length}`);
      }
      this.backend.arena.f32(this.valuePtr[v], n).set(inputs[i]);
    });
    this.repackChangedParams();
  }

  private readOutputs(): Float32Array[] {
    return this.graph.outputs.map((v) => this.backend.arena.f32(this.valuePtr[v], sizeOf(this.shapes[v])).slice());
  }

  run(inputs: readonly Float32Array[]): Float32Array[] {
    this.writeInputs(inputs);
    for (const s of this.steps) s.kernel.run(s.inputs, s.output, this.scratch);
    return this.readOutputs();
  }

  /** Runs once, timing each step: the per-layer table of the benchmark. */
  runProfiled(inputs: readonly Float32Array[]): { outputs: Float32Array[]; layers: LayerTiming[] } {
    this.writeInputs(inputs);
    const layers: LayerTiming[] = [];
    for (const s of this.steps) {
      const t0 = performance.now();
      s.kernel.run(s.inputs, s.output, this.scratch);
      const ms = performance.now() - t0;
      const name = [s.node.name, ...(s.node.fused ?? [])].join('+');
      layers.push({ name, op: s.node.op, outputShape: this.shapes[s.node.output], ms, flops: s.flops });
    }
    return { outputs: this.readOutputs(), layers };
  }

  get totalFlops(): number {
    return this.steps.reduce((a, s) => a + s.flops, 0);
  }

  matches(inputShapes: readonly Shape[]): boolean {
    return inputShapes.length === this.inputShapes.length && inputShapes.every((s, i) => shapesEqual(s, this.inputShapes[i]));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.steps) s.kernel.dispose?.();
    this.backend.arena.release(this.region);
  }
}
