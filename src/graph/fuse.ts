import type { FusedActivation } from '../ops/types.js';
import { Graph, type GraphNode, type ValueId } from './ir.js';

const fusable = new Set(['relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh']);

/**
 * Folds an activation into the conv2d or linear that feeds it, when that activation is the producer's
 * only reader, so the GEMM epilogue applies it while the tile is still in registers.
 */
export function fuseActivations(graph: Graph): Graph {
  const uses = graph.useCounts();
  const producers = graph.producers();
  const fusedInto = new Map<number, GraphNode>(); // activation node id -> producer node
  for (const node of graph.nodes) {
    if (node.op !== 'activation') continue;
    const act = node as GraphNode<'activation'>;
    const src = producers[act.inputs[0]];
    if (!src || (src.op !== 'conv2d' && src.op !== 'linear')) continue;
    if (uses[src.output] !== 1 || !fusable.has(act.attrs.kind)) continue;
    // The backward of a fused activation reads the output; leakyRelu's sign survives only for a slope > 0.
    if (act.attrs.kind === 'leakyRelu' && !(act.attrs.alpha > 0)) continue;
    if ((src.attrs as { activation: FusedActivation }).activation.kind !== 'none') continue;
    fusedInto.set(act.id, src);
  }
  if (fusedInto.size === 0) return graph;

  const activationOf = new Map<number, GraphNode<'activation'>>();
  for (const [actId, src] of fusedInto) activationOf.set(src.id, graph.nodes[actId] as GraphNode<'activation'>);

  const out = new Graph();
  const remap = new Map<ValueId, ValueId>();
  for (const v of graph.inputs) remap.set(v, out.addInput());
  for (const node of graph.nodes) {
    const src = fusedInto.get(node.id);
    if (src) {
      remap.set(node.output, remap.get(src.output) as ValueId);
      continue;
    }
    const inputs = node.inputs.map((v) => remap.get(v) as ValueId);
    const act = activationOf.get(node.id);
    if (act) {
      const attrs = { ...(node.attrs as object), activation: { kind: act.attrs.kind, alpha: act.attrs.alpha } };
      remap.set(
        node.output,
        out.addNode(node.op, node.name, attrs as never, inputs, { ...node.params }, [...(node.fused ?? []), act.name]),
      );
    } else {
      remap.set(node.output, out.addNode(node.op, node.name, node.attrs as never, inputs, { ...node.params }, node.fused));
    }
  }
  out.outputs = graph.outputs.map((v) => remap.get(v) as ValueId);
  return out;
}
