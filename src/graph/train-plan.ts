import { ShapeError, VireoError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import type { Backend } from '../backends/backend.js';
import { type TrainingGraph, type TrainingGraphOptions, buildTrainingGraph, isTrainable } from './autodiff.js';
import { Executor, type LayerTiming, type Placement } from './executor.js';
import type { Graph, GraphNode } from './ir.js';
import { type PlanOptions, toPlacement } from './plan.js';
import { inferShapes } from './shapes.js';

/**
 * A forward graph and its backward pass compiled as one executor: the forward's saved activations, the
 * dropout masks and every gradient share each backend's region, and each parameter's gradient is
 * accumulated in the device memory of the backend its layer runs on. A warm training step (run +
 * backward) allocates nothing anywhere.
 */
export class TrainPlan {
  readonly shapes: Shape[];
  readonly inputShapes: Shape[];
  readonly outputShape: Shape;
  readonly training: TrainingGraph;
  private readonly executor: Executor;
  /** requiresGrad of every parameter when compiled: the backward graph depends on it. */
  private readonly gradSignature: string;
  private readonly params: Parameter[];
  private readonly batchNormCounters: Parameter[];
  private forwardCount = 0;
  private backwardDoneFor = 0;
  private disposed = false;

  constructor(
    forward: Graph,
    inputShapes: readonly Shape[],
    where: Backend | Placement,
    options: TrainingGraphOptions & PlanOptions = {},
  ) {
    this.training = buildTrainingGraph(forward, inputShapes, options);
    const { graph, forwardNodes, gradOutput, paramGrads, output } = this.training;
    this.shapes = inferShapes(graph, [...inputShapes, this.training.outputShape]);
    this.inputShapes = forward.inputs.map((_, i) => inputShapes[i]);
    this.outputShape = this.training.outputShape;
    this.params = [...new Set(forward.nodes.flatMap((n) => Object.values(n.params)))];
    this.gradSignature = TrainPlan.signature(this.params);
    this.batchNormCounters = graph.nodes
      .slice(0, forwardNodes)
      .filter((n) => n.op === 'batchNorm2d' && (n as GraphNode<'batchNorm2d'>).attrs.training)
      .map((n) => n.params.num_batches_tracked)
      .filter((p): p is Parameter => p !== undefined);
    this.executor = new Executor({
      graph,
      shapes: this.shapes,
      placement: toPlacement(where),
      forwardNodes,
      backwardInputs: [gradOutput],
      readAfterForward: [output],
      keep: this.training.inputGrads.filter((v): v is number => v !== null),
      paramGrads,
      validate: options.validate,
    });
  }

  static signature(params: readonly Parameter[]): string {
    return params.map((p) => (isTrainable(p) ? '1' : '0')).join('');
  }

  get backend(): Backend {
    return this.executor.backends[0];
  }

  /** Same input shapes and the same set of trainable parameters as when compiled. */
  matches(inputShapes: readonly Shape[]): boolean {
    return (
      inputShapes.length === this.inputShapes.length &&
      inputShapes.every((s, i) => shapesEqual(s, this.inputShapes[i])) &&
      TrainPlan.signature(this.params) === this.gradSignature
    );
  }

  /** Bytes this plan holds in device memory for activations, saved values, gradients and scratch. */
  get activationBytes(): number {
    return this.executor.activationBytes;
  }

  /** Counts forward runs: a backward pass belongs to the forward run it follows. */
  get generation(): number {
    return this.forwardCount;
  }

  /** Forward pass in training mode; keeps what the backward pass reads. Returns the output values. */
  run(inputs: readonly Float32Array[]): Float32Array {
    if (this.disposed) throw new VireoError('plan was disposed');
    const graph = this.training.graph;
    if (inputs.length !== this.inputShapes.length)
      throw new ShapeError(`model expects ${this.inputShapes.length} input(s), got ${inputs.length}`);
    inputs.forEach((x, i) => this.executor.write(graph.inputs[i], x, `input ${i}`));
    this.executor.runForward();
    this.countBatchNormBatches();
    this.forwardCount++;
    return this.executor.read(this.training.output);
  }

  /** True when a backend's memory cannot be read synchronously (WebGPU): use runAsync / backwardAsync. */
  get needsAsync(): boolean {
    return this.executor.needsAsync;
  }

  /** `run` for every placement, GPU memories included (the output is downloaded). */
  async runAsync(inputs: readonly Float32Array[]): Promise<Float32Array> {
    if (!this.executor.needsAsync) return this.run(inputs);
    if (this.disposed) throw new VireoError('plan was disposed');
    const graph = this.training.graph;
    if (inputs.length !== this.inputShapes.length)
      throw new ShapeError(`model expects ${this.inputShapes.length} input(s), got ${inputs.length}`);
    inputs.forEach((x, i) => this.executor.write(graph.inputs[i], x, `input ${i}`));
    await this.executor.runForwardAsync();
    this.countBatchNormBatches();
    this.forwardCount++;
    return this.executor.readAsync(this.training.output);
  }

  /** `backward` for every placement, GPU memories included. */
  async backwardAsync(gradOutput: Float32Array, generation = this.forwardCount): Promise<void> {
    if (!this.executor.needsAsync) return this.backward(gradOutput, generation);
    this.checkBackward(gradOutput, generation);
    this.executor.write(this.training.gradOutput, gradOutput, 'backward: gradient');
    await this.executor.runBackwardAsync();
  }

  /** `inputGradients` for every placement. */
  async inputGradientsAsync(): Promise<Float32Array[]> {
    return Promise.all(
      this.training.inputGrads.map((v, i) =>
        v === null ? new Float32Array(sizeOf(this.inputShapes[i])) : this.executor.readAsync(v),
      ),
    );
  }

  /** PyTorch increments num_batches_tracked once per training-mode forward of each BatchNorm. */
  private countBatchNormBatches(): void {
    for (const counter of this.batchNormCounters) {
      counter.values[0] += 1;
      counter.markChanged();
    }
  }

  /**
   * Backward pass of the latest forward run: dL/d(output) in, each trainable parameter's gradient
   * accumulated (+=) in device memory (read on the host through `Parameter.grad`).
   */
  backward(gradOutput: Float32Array, generation = this.forwardCount): void {
    this.checkBackward(gradOutput, generation);
    this.executor.write(this.training.gradOutput, gradOutput, 'backward: gradient');
    this.executor.runBackward();
  }

  private checkBackward(gradOutput: Float32Array, generation: number): void {
    if (this.disposed) throw new VireoError('plan was disposed');
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
  }

  /** One forward + backward, timing every step (forward steps first): the training benchmark's table. */
  profileStep(inputs: readonly Float32Array[], gradOutput: Float32Array): { output: Float32Array; layers: LayerTiming[] } {
    const { result, layers } = this.executor.profile(() => {
      const output = this.run(inputs);
      this.backward(gradOutput);
      return output;
    });
    return { output: result, layers };
  }

  /** The placed steps: kernels with their backends, copies with their bytes, gradient accumulations. */
  get placement(): ReturnType<Executor['describe']> {
    return this.executor.describe();
  }

  /** FLOPs of one forward + backward (multiply-adds count 2). */
  get totalFlops(): number {
    return this.executor.totalFlops;
  }

  /** After `backward`, dL/d(each input) when compiled with `inputGrads` (zeros where it does not depend). */
  inputGradients(): Float32Array[] {
    return this.training.inputGrads.map((v, i) =>
      v === null ? new Float32Array(sizeOf(this.inputShapes[i])) : this.executor.read(v),
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.executor.dispose();
  }
}
