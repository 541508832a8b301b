import { VireoError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import type { Shape } from '../core/shape.js';
import { opDef } from '../ops/index.js';
import type { GradContext, OpName } from '../ops/types.js';
import { Graph, type GraphNode, type ValueId } from './ir.js';
import { inferShapes, layerLabel } from './shapes.js';

/** A forward graph with its backward pass appended: one graph, planned and run as one. */
export interface TrainingGraph {
  graph: Graph;
  /** Nodes [0, forwardNodes) are the forward pass; the rest the backward pass. */
  forwardNodes: number;
  /** The forward output (graph.outputs[0]). */
  output: ValueId;
  outputShape: Shape;
  /** Graph input (the last) that holds dL/d(output) when the backward pass runs. */
  gradOutput: ValueId;
  /** Values the executor accumulates into `param.grad` (one per trainable parameter use). */
  paramGrads: { value: ValueId; param: Parameter; node: string }[];
  /** With `inputGrads`: dL/d(each graph input) (null when it does not depend on the output). */
  inputGrads: (ValueId | null)[];
}

export interface TrainingGraphOptions {
  /** Also differentiate with respect to the graph inputs (gradient checks, saliency maps). */
  inputGrads?: boolean;
}

/** A parameter gets a gradient only when it is trainable: a float, non-buffer parameter with requiresGrad. */
export function isTrainable(p: Parameter): boolean {
  return p.requiresGrad && !p.isBuffer && p.dtype === 'float32';
}

/**
 * Training dropout becomes `x · dropoutMask(x)`, so the mask is a planned value that the backward pass
 * reads again (dX = dY · mask) instead of a random draw hidden in a kernel.
 */
function lowerForTraining(forward: Graph): Graph {
  const g = new Graph();
  const remap = new Map<ValueId, ValueId>();
  for (const v of forward.inputs) remap.set(v, g.addInput());
  for (const node of forward.nodes) {
    const inputs = node.inputs.map((v) => remap.get(v) as ValueId);
    if (node.op === 'dropout') {
      const a = (node as GraphNode<'dropout'>).attrs;
      if (a.training && a.p > 0) {
        const mask = g.addNode('dropoutMask', node.name, a, inputs);
        remap.set(node.output, g.addNode('mul', node.name, {}, [inputs[0], mask]));
        continue;
      }
    }
    remap.set(node.output, g.addNode(node.op, node.name, node.attrs as never, inputs, { ...node.params }, node.fused));
  }
  g.outputs = forward.outputs.map((v) => remap.get(v) as ValueId);
  return g;
}

/**
 * Appends the backward pass to a forward graph (reverse topological order, each node's `grad` rule).
 * Only what some trainable parameter depends on is differentiated: the graph input gets no gradient,
 * so the first layer's input gradient is never computed, and a frozen prefix costs nothing.
 */
export function buildTrainingGraph(
  forward: Graph,
  inputShapes: readonly Shape[],
  options: TrainingGraphOptions = {},
): TrainingGraph {
  if (forward.outputs.length !== 1) throw new VireoError(`training needs a graph with one output, got ${forward.outputs.length}`);
  const g = lowerForTraining(forward);
  const shapes = inferShapes(g, inputShapes);
  const needs = new Array<boolean>(g.numValues).fill(false);
  if (options.inputGrads) for (const v of g.inputs) needs[v] = true;
  for (const node of g.nodes) {
    // A dropout mask reads its input for the shape only: it is a constant of the backward pass.
    if (node.op === 'dropoutMask') continue;
    needs[node.output] = node.inputs.some((v) => needs[v]) || Object.values(node.params).some(isTrainable);
  }
  const forwardNodes = g.nodes.length;
  const output = g.outputs[0];
  const gradOutput = g.addInput();
  const contributions = new Map<ValueId, ValueId[]>([[output, [gradOutput]]]);
  const paramGrads: TrainingGraph['paramGrads'] = [];

  for (let i = forwardNodes - 1; i >= 0; i--) {
    const node = g.nodes[i];
    const parts = contributions.get(node.output);
    if (!needs[node.output] || !parts) continue;
    let dy = parts[0];
    for (let k = 1; k < parts.length; k++) dy = g.addNode('add', `${node.name}.grad`, {}, [dy, parts[k]]);
    const def = opDef(node.op);
    if (!def.grad) throw new VireoError(`${layerLabel(node)}: no gradient definition, cannot train through it`);
    const needsParamGrad: Record<string, boolean> = {};
    for (const [key, p] of Object.entries(node.params)) needsParamGrad[key] = isTrainable(p);
    const ctx: GradContext<OpName> = {
      attrs: node.attrs,
      inputs: node.inputs,
      output: node.output,
      inputShapes: node.inputs.map((v) => shapes[v]),
      outputShape: shapes[node.output],
      dy,
      needsInputGrad: node.inputs.map((v) => needs[v]),
      needsParamGrad,
      emit: (op, attrs, inputs, params = []) =>
        g.addNode(op, node.name, attrs as never, inputs, Object.fromEntries(params.map((k) => [k, node.params[k]]))),
    };
    const result = def.grad(ctx as never);
    node.inputs.forEach((v, k) => {
      const d = result.inputs[k];
      if (d === null || d === undefined || !needs[v]) return;
      const list = contributions.get(v);
      if (list) list.push(d);
      else contributions.set(v, [d]);
    });
    for (const [key, value] of Object.entries(result.params))
      paramGrads.push({ value, param: node.params[key], node: node.name });
  }
  const inputGrads = options.inputGrads
    ? g.inputs.slice(0, forward.inputs.length).map((v) => {
        const parts = contributions.get(v);
        if (!parts) return null;
        let d = parts[0];
        for (let k = 1; k < parts.length; k++) d = g.addNode('add', 'input.grad', {}, [d, parts[k]]);
        return d;
      })
    : [];
  return { graph: g, forwardNodes, output, outputShape: shapes[output], gradOutput, paramGrads, inputGrads };
}
