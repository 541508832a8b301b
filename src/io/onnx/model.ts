import { FormatError, ShapeError, VireoError } from '../../core/errors.js';
import type { Parameter } from '../../core/parameter.js';
import { type Shape, shapeToString, shapesEqual } from '../../core/shape.js';
import { Tensor } from '../../core/tensor.js';
import { fuseActivations } from '../../graph/fuse.js';
import { flags } from '../../core/flags.js';
import { fusePatterns } from './patterns.js';
import { Graph, type ValueId } from '../../graph/ir.js';
import { Plan } from '../../graph/plan.js';
import type { CompiledModel } from '../../nn/compiled.js';
import { Module } from '../../nn/module.js';
import { Builder, ParamStore, UnsupportedOpError, type Val } from './builder.js';
import { converters } from './converters.js';
import { fusedConverters } from './converters-fused.js';
import { type OnnxModelProto, type OnnxTensor, decodeOnnx } from './decode.js';
import { nodeLabel } from './fold.js';

export interface ImportOnnxOptions {
  /**
   * Graph inputs to bind to constants (name → tensor): they become initializers. The conformance
   * suite feeds weights as inputs; binding them lets Conv/Gemm take them as parameters.
   */
  constants?: Record<string, OnnxTensor>;
  /** Shape to plan with at import time for dimensions the file leaves symbolic (default 1). */
  defaultDim?: number;
  /**
   * Concrete shapes for named graph inputs, used for the dimensions the file leaves symbolic (an image
   * model exported with a dynamic height and width is planned at the size given here, not at defaultDim).
   */
  inputShapes?: Record<string, readonly number[]>;
}

/** An op vireo lacks, found while importing: the op type and the node that uses it. */
export interface UnsupportedNode {
  opType: string;
  node: string;
  reason: string;
}

/** Every node whose op type has no converter (so a report can list them all, not only the first). */
export function unsupportedNodes(model: OnnxModelProto): UnsupportedNode[] {
  return model.nodes
    .filter((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || !converters[n.opType])
    .map((n) => ({
      opType: n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType,
      node: n.name,
      reason: 'vireo has no converter for this op',
    }));
}

/**
 * An imported ONNX model: a Module whose parameters are the model's initializers (state-dict names are
 * the initializer names), so it runs, fine-tunes and exports like any other module. The graph is built
 * per input shape, folding shape arithmetic (Shape → Gather → Concat → Reshape) for that shape.
 */
export class OnnxModel extends Module {
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly store = new ParamStore();
  private pendingShape: Shape | null = null;
  private runPlans: { shapes: Shape[]; compiled: CompiledModel; plan: Plan }[] = [];

  constructor(
    readonly proto: OnnxModelProto,
    readonly declaredInputShapes: Shape[],
  ) {
    super();
    this.inputNames = proto.inputs.map((i) => i.name);
    this.outputNames = proto.outputs.map((o) => o.name);
    this.training = false;
    // Build once with the declared shapes: reports unsupported ops and shape errors at import time and
    // creates every parameter (registered in initializer order, the state-dict order).
    this.buildGraph(declaredInputShapes, false);
    const order = [...proto.initializers.keys()];
    const entries = [...this.store.entries].sort((a, b) => rank(order, a[0]) - rank(order, b[0]));
    for (const [name, p] of entries) this.registerParameter(name, p);
  }

  /** The IR graph for these input shapes (one value per ONNX graph input, outputs in ONNX order). */
  buildGraph(inputShapes: readonly Shape[], training: boolean, graph = new Graph(), inputIds?: ValueId[]): Graph {
    const { proto } = this;
    if (inputShapes.length !== proto.inputs.length) {
      throw new ShapeError(
        `the ONNX model has ${proto.inputs.length} input(s) (${this.inputNames.join(', ')}), got ${inputShapes.length}`,
      );
    }
    const b = new Builder(proto, graph, this.store, { training });
    proto.inputs.forEach((info, i) => {
      const shape = [...inputShapes[i]];
      if (info.dims) {
        const ok = info.dims.length === shape.length && info.dims.every((d, k) => typeof d !== 'number' || d === shape[k]);
        if (!ok) {
          throw new ShapeError(
            `input '${info.name}' expects shape [${info.dims.map((d) => d ?? '?').join(', ')}], got ${shapeToString(shape)}`,
          );
        }
      }
      b.values.set(info.name, { kind: 'value', id: inputIds ? inputIds[i] : graph.addInput(), shape });
    });
    for (const node of flags.fuseOnnxPatterns ? fusePatterns(proto) : proto.nodes) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') {
        throw new UnsupportedOpError(
          node.opType,
          node.name,
          `op domain '${node.domain}' is not supported (only the default ONNX domain)`,
        );
      }
      const convert = converters[node.opType] ?? fusedConverters[node.opType];
      if (!convert) {
        throw new UnsupportedOpError(node.opType, node.name, `vireo does not support the ONNX op '${node.opType}'`);
      }
      const ins = node.inputs.map((name) => {
        if (name === '') return undefined;
        const v = b.values.get(name);
        if (!v)
          throw new FormatError(
            `${nodeLabel(node)}: input '${name}' is not produced by any earlier node, initializer or graph input`,
          );
        return v;
      });
      let outs: (Val | undefined)[];
      if (ins.every((v) => !v || v.kind === 'const') && !['Constant', 'Shape'].includes(node.opType)) {
        // Every input known now: fold the node (its converter runs on a scratch graph, evaluated once).
        const c = b.foldWithReference(node, (sub) => {
          const r = convert(sub, node, ins)[0];
          if (!r) throw new FormatError(`${nodeLabel(node)}: no output`);
          return r;
        });
        outs = [b.nodeConst(node.outputs[0], c)];
      } else outs = convert(b, node, ins);
      node.outputs.forEach((name, k) => {
        const v = outs[k];
        if (name && v) b.values.set(name, v);
      });
    }
    graph.outputs = proto.outputs.map((o) => {
      const v = b.values.get(o.name);
      if (!v) throw new FormatError(`graph output '${o.name}' is not produced by any node`);
      return b.asValue(v, { name: o.name, opType: 'Output', domain: '', inputs: [], outputs: [], attrs: new Map() });
    });
    return graph;
  }

  /** Module hook: the single-input, single-output graph for `forward`. */
  emit(graph: Graph, inputs: ValueId[], _path: string): ValueId {
    if (this.proto.inputs.length !== 1 || this.proto.outputs.length !== 1) {
      throw new VireoError(
        `forward() needs a model with one input and one output; this one has inputs [${this.inputNames.join(', ')}] and outputs [${this.outputNames.join(', ')}]: use run({ name: tensor })`,
      );
    }
    const shape = this.pendingShape ?? this.declaredInputShapes[0];
    this.buildGraph([shape], this.training, graph, inputs);
    return graph.outputs[0];
  }

  /** The forward graph for an input shape: an ONNX graph may resolve shapes (Reshape targets) from it. */
  override toGraph(inputShape?: Shape): Graph {
    this.pendingShape = inputShape ?? null;
    return super.toGraph(inputShape);
  }

  /** Runs the model on named inputs; returns every graph output by name. Inference semantics. */
  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const missing = this.inputNames.filter((n) => !(inputs[n] instanceof Tensor));
    if (missing.length)
      throw new ShapeError(
        `run: missing input tensor(s) ${missing.map((m) => `'${m}'`).join(', ')} (the model's inputs are ${this.inputNames.join(', ')})`,
      );
    const extra = Object.keys(inputs).filter((n) => !this.inputNames.includes(n));
    if (extra.length)
      throw new ShapeError(`run: unknown input(s) ${extra.join(', ')} (the model's inputs are ${this.inputNames.join(', ')})`);
    const tensors = this.inputNames.map((n) => inputs[n]);
    const shapes = tensors.map((t) => t.shape);
    const compiled = await this.compiledModel();
    let entry = this.runPlans.find((p) => p.compiled === compiled && p.shapes.every((s, i) => shapesEqual(s, shapes[i])));
    if (!entry) {
      const graph = fuseActivations(this.buildGraph(shapes, false));
      entry = { shapes, compiled, plan: new Plan(graph, shapes, compiled.placement) };
      this.runPlans.push(entry);
    }
    // runAsync: a plan with steps on webgpu must await its pipelines and downloads (on wasm it is run()).
    const outs = await entry.plan.runAsync(tensors.map((t) => t.dataSync()));
    const plan = entry.plan;
    return Object.fromEntries(this.outputNames.map((n, i) => [n, new Tensor(outs[i], plan.outputShapes[i])]));
  }

  /** Parameters by ONNX initializer name (the state-dict names). */
  initializerParameters(): Map<string, Parameter> {
    return new Map(this.store.entries);
  }

  override releasePlans(): void {
    for (const p of this.runPlans) p.plan.dispose();
    this.runPlans = [];
    super.releasePlans();
  }
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  if (i >= 0) return i;
  const base = order.findIndex((o) => name.startsWith(o));
  return base >= 0 ? base + 0.5 : order.length;
}

/**
 * Imports an ONNX model (the bytes of a .onnx file). Errors are FormatErrors naming the node:
 * truncated or corrupt files, external data, unsupported ops, shapes that cannot be resolved.
 */
export async function importOnnx(bytes: Uint8Array | ArrayBuffer, options: ImportOnnxOptions = {}): Promise<OnnxModel> {
  const proto = decodeOnnx(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes);
  for (const [name, t] of Object.entries(options.constants ?? {})) {
    proto.initializers.set(name, { ...t, name });
  }
  proto.inputs = proto.inputs.filter((i) => !proto.initializers.has(i.name));
  if (proto.inputs.length === 0) throw new FormatError('importOnnx: the model has no graph inputs');
  const defaultDim = options.defaultDim ?? 1;
  const shapes = proto.inputs.map((info) => {
    if (!info.dims)
      throw new FormatError(`importOnnx: input '${info.name}' has no shape; vireo needs the rank and channel count`);
    const given = options.inputShapes?.[info.name];
    if (given && given.length !== info.dims.length)
      throw new ShapeError(
        `importOnnx: input '${info.name}' has rank ${info.dims.length}, inputShapes gives [${given.join(', ')}]`,
      );
    return info.dims.map((d, k) => (typeof d === 'number' && d >= 0 ? d : (given?.[k] ?? defaultDim)));
  });
  return new OnnxModel(proto, shapes);
}
