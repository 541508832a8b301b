import { ShapeError } from '../core/errors.js';
import { type Shape, shapeToString, shapesEqual } from '../core/shape.js';
import { opDef } from '../ops/index.js';
import type { OpName } from '../ops/types.js';
import type { Graph, GraphNode } from './ir.js';

/** Human name of an op for messages: 'conv2d' → 'Conv2d'. */
export function opLabel(op: OpName): string {
  return op.charAt(0).toUpperCase() + op.slice(1);
}

export function layerLabel(node: GraphNode): string {
  return `layer '${node.name}' (${opLabel(node.op)})`;
}

/**
 * Shape inference over the whole graph for concrete input shapes. Errors name the layer and give the
 * expected and actual shapes, so a wrong `inFeatures` is found when the model is built, not in a kernel.
 */
export function inferShapes(graph: Graph, inputShapes: readonly Shape[]): Shape[] {
  if (inputShapes.length !== graph.inputs.length) {
    throw new ShapeError(`model expects ${graph.inputs.length} input(s), got ${inputShapes.length}`);
  }
  const shapes: Shape[] = new Array(graph.numValues);
  graph.inputs.forEach((v, i) => {
    shapes[v] = inputShapes[i];
  });
  for (const node of graph.nodes) {
    const def = opDef(node.op);
    const ins = node.inputs.map((v) => shapes[v]);
    let out: Shape;
    try {
      out = def.inferShape(ins, node.attrs as never);
    } catch (e) {
      throw new ShapeError(`${layerLabel(node)}: ${(e as Error).message}`);
    }
    const expected = def.paramShapes(node.attrs as never);
    for (const [key, shape] of Object.entries(expected)) {
      const p = node.params[key];
      if (!p) throw new ShapeError(`${layerLabel(node)}: parameter '${key}' is missing`);
      if (!shapesEqual(p.shape, shape)) {
        throw new ShapeError(
          `${layerLabel(node)}: parameter '${key}' has shape ${shapeToString(p.shape)}, expected ${shapeToString(shape)}`,
        );
      }
    }
    shapes[node.output] = out;
  }
  return shapes;
}
