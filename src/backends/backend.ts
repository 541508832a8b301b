import type { Shape } from '../core/shape.js';
import type { GraphNode } from '../graph/ir.js';
import type { OpName } from '../ops/types.js';
import type { Arena } from './arena.js';

/** What a kernel factory sees at plan time: the node and its concrete shapes. */
export interface KernelContext<K extends OpName = OpName> {
  node: GraphNode<K>;
  inputShapes: Shape[];
  outputShape: Shape;
}

/**
 * A kernel bound to one node and shape. Buffers are byte offsets into the backend's arena; the
 * kernel may keep packed parameters of its own (allocated in `prepare`, refreshed by `pack`).
 */
export interface PreparedKernel {
  /** Scratch bytes needed during `run` (im2col panels and the like); shared across a plan's steps. */
  scratchBytes: number;
  /** (Re)writes packed parameters from the node's Parameters; called when their version changes. */
  pack?(): void;
  run(inputs: readonly number[], output: number, scratch: number): void;
  dispose?(): void;
}

export type KernelFactory<K extends OpName = OpName> = (ctx: KernelContext<K>) => PreparedKernel;

export type KernelTable = { [K in OpName]?: KernelFactory<K> };

export interface BackendInfo {
  name: string;
  /** For wasm: 'simd' | 'relaxed' | 'scalar'. */
  build?: string;
  features?: Record<string, boolean>;
}

export interface Backend {
  readonly name: string;
  readonly arena: Arena;
  readonly kernels: KernelTable;
  info(): BackendInfo;
}
