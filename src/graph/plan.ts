import { ShapeError } from '../core/errors.js';
import { type Shape, shapesEqual } from '../core/shape.js';
import type { Backend } from '../backends/backend.js';
import { Executor, type ExecutorSpec, type LayerTiming, type Placement } from './executor.js';
import type { Graph } from './ir.js';
import { type PlacementEstimates, formatPlacementReport } from './report.js';
import { inferShapes } from './shapes.js';

export type { LayerTiming, Placement } from './executor.js';

export interface PlanOptions {
  /** Re-run every step on the reference backend and stop at the first layer that differs (debugging a backend). */
  validate?: ExecutorSpec['validate'];
}

/** One backend for every node, or a placement function. */
export function toPlacement(where: Backend | Placement): Placement {
  return typeof where === 'function' ? where : () => where;
}

/**
 * A graph compiled for fixed input shapes, for inference: kernels chosen on the placed backends,
 * parameters packed and every buffer placed once. `run` allocates nothing in any backend's memory.
 */
export class Plan {
  readonly shapes: Shape[];
  readonly inputShapes: Shape[];
  readonly outputShapes: Shape[];
  /** The scheduler's estimates when `auto` placed this plan (null for a fixed placement). */
  schedule: PlacementEstimates | null = null;
  private readonly executor: Executor;

  constructor(
    readonly graph: Graph,
    inputShapes: readonly Shape[],
    where: Backend | Placement,
    options: PlanOptions = {},
  ) {
    this.shapes = inferShapes(graph, inputShapes);
    this.inputShapes = graph.inputs.map((v) => this.shapes[v]);
    this.outputShapes = graph.outputs.map((v) => this.shapes[v]);
    this.executor = new Executor({ graph, shapes: this.shapes, placement: toPlacement(where), validate: options.validate });
  }

  /** The backend of the first step (the only one, unless placed across several). */
  get backend(): Backend {
    return this.executor.backends[0];
  }

  get backends(): readonly Backend[] {
    return this.executor.backends;
  }

  private writeInputs(inputs: readonly Float32Array[]): void {
    if (inputs.length !== this.graph.inputs.length) {
      throw new ShapeError(`model expects ${this.graph.inputs.length} input(s), got ${inputs.length}`);
    }
    this.graph.inputs.forEach((v, i) => this.executor.write(v, inputs[i], `input ${i}`));
  }

  run(inputs: readonly Float32Array[]): Float32Array[] {
    this.writeInputs(inputs);
    this.executor.runForward();
    return this.graph.outputs.map((v) => this.executor.read(v));
  }

  /** True when a backend's memory cannot be read synchronously (WebGPU): use `runAsync`. */
  get needsAsync(): boolean {
    return this.executor.needsAsync;
  }

  /**
   * `run` for every placement, GPU memories included: steps are recorded as in `run`, copies out of a GPU
   * memory and the outputs are downloaded. On host-mappable memories it is `run`.
   */
  async runAsync(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
    if (!this.executor.needsAsync) return this.run(inputs);
    this.writeInputs(inputs);
    await this.executor.runForwardAsync();
    return Promise.all(this.graph.outputs.map((v) => this.executor.readAsync(v)));
  }

  /**
   * Calibration of a GPU kernel: runs the forward steps `reps` more times on the inputs last written, reading
   * nothing back, so a GPU records them back to back; the caller waits for the device and times the whole.
   */
  async rerunForwardAsync(reps: number): Promise<void> {
    for (let r = 0; r < reps; r++) await this.executor.runForwardAsync();
  }

  /** Runs once, timing each step (copies between backends included, with their bytes): the per-layer table. */
  runProfiled(inputs: readonly Float32Array[]): { outputs: Float32Array[]; layers: LayerTiming[] } {
    const { result, layers } = this.executor.profile(() => this.run(inputs));
    return { outputs: result, layers };
  }

  /** The placed steps: each kernel with its backend, each copy with its bytes. */
  get placement(): ReturnType<Executor['describe']> {
    return this.executor.describe();
  }

  get totalFlops(): number {
    return this.executor.totalFlops;
  }

  /**
   * The placement as a table: each step's layer, shape and backend, each candidate's estimated time (when
   * `auto` placed the plan), the measured time of one profiled run when `inputs` are given, copies with
   * their bytes, and the totals.
   */
  report(inputs?: readonly Float32Array[]): string {
    const shapes = new Map(this.graph.nodes.map((n) => [n.name, this.shapes[n.output]] as const));
    const measured = inputs ? this.runProfiled(inputs).layers : null;
    return formatPlacementReport(this.placement, shapes, this.schedule, measured);
  }

  /** Bytes this plan holds in device memory for activations and scratch. */
  get activationBytes(): number {
    return this.executor.activationBytes;
  }

  matches(inputShapes: readonly Shape[]): boolean {
    return inputShapes.length === this.inputShapes.length && inputShapes.every((s, i) => shapesEqual(s, this.inputShapes[i]));
  }

  dispose(): void {
    this.executor.dispose();
  }
}
