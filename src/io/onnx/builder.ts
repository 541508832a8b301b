import { FormatError, VireoError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import { type Shape, sizeOf } from '../../core/shape.js';
import type { Backend } from '../../backends/backend.js';
import { hostBackend } from '../../backends/host.js';
import { Graph, type ValueId } from '../../graph/ir.js';
import { Plan } from '../../graph/plan.js';
import { opDef } from '../../ops/index.js';
import type { OpAttrs, OpName } from '../../ops/types.js';
import type { OnnxModelProto, OnnxNode } from './decode.js';
import { type Const, constOf, nodeLabel } from './fold.js';

/** A value during import: known now (folded), or computed by the graph with a static shape. */
export type Val = { kind: 'const'; name: string; c: Const } | { kind: 'value'; id: ValueId; shape: number[] };

/** Parameters of an imported model by state-dict name; created once, reused by every plan's graph. */
export class ParamStore {
  readonly entries = new Map<string, Parameter>();
  get(name: string, c: Const, options: { trainable: boolean }, transform?: (c: Const) => Const): Parameter {
    const found = this.entries.get(name);
    if (found) return found;
    const t = transform ? transform(c) : c;
    const p = new Parameter(t.dims, {
      values: Float32Array.from(t.data),
      requiresGrad: options.trainable,
      isBuffer: !options.trainable,
    });
    this.entries.set(name, p);
    return p;
  }
}

export interface BuildOptions {
  /** Layer modes: batch norm uses batch statistics only when training and its scale is trainable. */
  training: boolean;
}

/** Thrown for an op (or op variant) vireo lacks; the CLI and the conformance test list these by op. */
export class UnsupportedOpError extends FormatError {
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    reason: string,
  ) {
    super(`node '${nodeName}' (${opType}): ${reason}`);
  }
}

export type Converter = (b: Builder, node: OnnxNode, ins: (Val | undefined)[]) => (Val | undefined)[];

let foldBackend: Backend | null = null;

/** Maps one ONNX graph onto vireo's IR for concrete input shapes, folding what is known at import time. */
export class Builder {
  readonly values = new Map<string, Val>();
  private readonly constNodes = new Map<string, ValueId>();

  constructor(
    readonly model: OnnxModelProto,
    readonly graph: Graph,
    readonly params: ParamStore,
    readonly options: BuildOptions,
  ) {
    for (const [name, t] of model.initializers) {
      this.values.set(name, {
        kind: 'const',
        name,
        c: { dims: t.dims, data: t.values, int: t.dataType !== 1 && t.dataType !== 10 && t.dataType !== 11 },
      });
    }
  }

  get opset(): number {
    return this.model.opset;
  }

  /** Adds an IR node, inferring its shape now so errors name the ONNX node. */
  add<K extends OpName>(node: OnnxNode, op: K, attrs: OpAttrs[K], inputs: Val[], params: Record<string, Parameter> = {}): Val {
    const ids = inputs.map((v) => this.asValue(v, node));
    const shapes = inputs.map((v) => (v.kind === 'value' ? v.shape : v.c.dims));
    let shape: Shape;
    try {
      shape = opDef(op).inferShape(shapes, attrs);
    } catch (e) {
      throw new FormatError(`${nodeLabel(node)}: ${(e as Error).message}`);
    }
    const id = this.graph.addNode(op, node.name, attrs, ids, params);
    return { kind: 'value', id, shape: [...shape] };
  }

  /**
   * A graph value for `v`: constants become a `constant` node holding a parameter. A float initializer with
   * more than one value (a bias added after a MatMul, ConvNeXt's layer scale) is trainable, as the torch
   * parameter it was; scalars and values folded at import (shape arithmetic, GELU's constants) are buffers.
   */
  asValue(v: Val, node: OnnxNode): ValueId {
    if (v.kind === 'value') return v.id;
    const found = this.constNodes.get(v.name);
    if (found !== undefined) return found;
    const trainable = this.model.initializers.has(v.name) && !v.c.int && sizeOf(v.c.dims) > 1;
    const p = this.params.get(v.name, v.c, { trainable });
    const id = this.graph.addNode('constant', `${node.name}.${v.name}`, { shape: [...v.c.dims] }, [], { value: p });
    this.constNodes.set(v.name, id);
    return id;
  }

  /** Required input `k` of a node. */
  input(node: OnnxNode, ins: (Val | undefined)[], k: number): Val {
    const v = ins[k];
    if (!v) throw new FormatError(`${nodeLabel(node)}: input ${k} is missing`);
    return v;
  }

  /** An input that must be known at import time (a weight, a shape, pads). */
  constInput(node: OnnxNode, ins: (Val | undefined)[], k: number, what: string): Const {
    const v = this.input(node, ins, k);
    if (v.kind !== 'const') {
      throw new UnsupportedOpError(
        node.opType,
        node.name,
        `${what} (input ${k}, '${node.inputs[k]}') must be a constant (an initializer or folded from one); vireo does not take it from a run-time value`,
      );
    }
    return v.c;
  }

  shapeOf(v: Val): number[] {
    return v.kind === 'value' ? v.shape : v.c.dims;
  }

  /**
   * Folds a node whose inputs are all constants by running its IR op once on the reference backend
   * (the same kernels as the graph), so any op vireo supports can be folded without a second definition.
   */
  foldWithReference(node: OnnxNode, build: (g: Builder) => Val): Const {
    const g = new Graph();
    const sub = new Builder(this.model, g, new ParamStore(), this.options);
    const out = build(sub);
    if (out.kind === 'const') return out.c;
    g.outputs = [out.id];
    foldBackend ??= hostBackend();
    const plan = new Plan(g, [], foldBackend);
    try {
      const [values] = plan.run([]);
      return constOf(out.shape, values);
    } catch (e) {
      throw new VireoError(`${nodeLabel(node)}: folding a constant failed: ${(e as Error).message}`);
    } finally {
      plan.dispose();
      // The folded subgraph's constants were bound to the reference memory for this one run.
      for (const n of g.nodes) for (const p of Object.values(n.params)) p.unbind();
    }
  }

  nodeConst(name: string, c: Const): Val {
    return { kind: 'const', name, c };
  }

  get sizeOf(): typeof sizeOf {
    return sizeOf;
  }
}
