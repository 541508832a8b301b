import type { Parameter } from '../core/parameter.js';
import type { Shape } from '../core/shape.js';
import type { Backend, ParamHandle, PreparedKernel } from '../backends/backend.js';
import type { Graph, GraphNode, ValueId } from './ir.js';
import type { ValidateSpec } from './validate.js';

// What the executor (executor.ts) compiles a graph into: its specification, the three kinds of step, the
// planned buffers and the timing rows it reports.

/** Which backend runs each node. */
export type Placement = (node: GraphNode) => Backend;

export interface LayerTiming {
  name: string;
  op: string;
  outputShape: Shape;
  ms: number;
  flops: number;
  /** The backend that ran the step ('wasm', or 'wasm→reference' for a copy). */
  backend?: string;
  /** Copies only: bytes moved. */
  bytes?: number;
}

/** What the executor must know about a graph besides its nodes: where the phases split and what outlives them. */
export interface ExecutorSpec {
  graph: Graph;
  /** Shapes of every value (from inferShapes). */
  shapes: Shape[];
  placement: Placement;
  /** Nodes [0, forwardNodes) run in `run`; the rest in `backward` (default: all in `run`). */
  forwardNodes?: number;
  /** Graph inputs written when the backward phase starts (dL/d(output)). */
  backwardInputs?: readonly ValueId[];
  /** Values read after the last forward step (the forward output, read before backward runs). */
  readAfterForward?: readonly ValueId[];
  /** Values read after the whole run (graph outputs, input gradients). */
  keep?: readonly ValueId[];
  /** Values whose contents are added into a parameter's gradient right after they are computed. */
  paramGrads?: readonly { value: ValueId; param: Parameter }[];
  /** Re-run every kernel on the reference backend and stop at the first layer that differs. */
  validate?: ValidateSpec | null;
}

export interface KernelStep {
  kind: 'kernel';
  node: GraphNode;
  backend: Backend;
  kernel: PreparedKernel;
  inputs: number[];
  output: number;
  scratch: number;
  params: Parameter[];
  packedVersions: number[];
  flops: number;
  /** Slot indices (resolved to offsets once memory is planned). */
  inputSlots: number[];
  outputSlot: number;
  handles: Record<string, ParamHandle>;
  /**
   * The parameter whose gradient is this step's output and nothing else's input: when that gradient is empty
   * (zeroed, or none yet) the kernel writes straight into the parameter's gradient buffer, no copy.
   */
  gradOf: Parameter | null;
  /** Set per run: this run wrote `gradOf`'s gradient directly (its grad step has nothing to do). */
  wroteGrad: boolean;
}

export interface CopyStep {
  kind: 'copy';
  from: Backend;
  to: Backend;
  floats: number;
  srcSlot: number;
  dstSlot: number;
  src: number;
  dst: number;
  label: string;
  shape: Shape;
}

export interface GradStep {
  kind: 'grad';
  backend: Backend;
  param: Parameter;
  /** The kernel step that computed the gradient (it may have written it in place already). */
  producer: KernelStep;
  srcSlot: number;
  src: number;
  name: string;
  shape: Shape;
}

export type Step = KernelStep | CopyStep | GradStep;

/** A buffer of one backend's region: a value (or its copy on another backend), live over [first, last] steps. */
export interface Slot {
  backend: Backend;
  floats: number;
  first: number;
  last: number;
  offset: number;
}

/** A parameter copied into a backend other than its home (a rare shared parameter), refreshed on version change. */
export interface Mirror {
  param: Parameter;
  backend: Backend;
  ptr: number;
  version: number;
}
