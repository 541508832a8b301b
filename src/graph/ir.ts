import type { Parameter } from '../core/parameter.js';
import type { OpAttrs, OpName } from '../ops/types.js';

export type ValueId = number;

/** One op application. Parameters are leaves held by reference, named as in PyTorch's state dict. */
export interface GraphNode<K extends OpName = OpName> {
  readonly id: number;
  /** The layer's state-dict path ('conv1', 'features.0'); used in every error and report. */
  readonly name: string;
  readonly op: K;
  readonly attrs: OpAttrs[K];
  readonly inputs: readonly ValueId[];
  readonly params: Readonly<Record<string, Parameter>>;
  readonly output: ValueId;
  /** Names of layers folded into this node by a fusion pass (e.g. ['relu1']). */
  readonly fused?: readonly string[];
}

/** A DAG of op nodes over values. Nodes are kept in topological order: a node only reads earlier values. */
export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly inputs: ValueId[] = [];
  outputs: ValueId[] = [];
  private valueCount = 0;

  get numValues(): number {
    return this.valueCount;
  }

  addInput(): ValueId {
    const id = this.valueCount++;
    this.inputs.push(id);
    return id;
  }

  addNode<K extends OpName>(
    op: K,
    name: string,
    attrs: OpAttrs[K],
    inputs: readonly ValueId[],
    params: Record<string, Parameter> = {},
    fused?: readonly string[],
  ): ValueId {
    for (const v of inputs) {
      if (v < 0 || v >= this.valueCount) throw new Error(`graph: node '${name}' reads value ${v} before it exists`);
    }
    const output = this.valueCount++;
    this.nodes.push({ id: this.nodes.length, name, op, attrs, inputs: [...inputs], params, output, fused });
    return output;
  }

  /** The node that produces each value (undefined for graph inputs). */
  producers(): (GraphNode | undefined)[] {
    const result: (GraphNode | undefined)[] = new Array(this.valueCount);
    for (const n of this.nodes) result[n.output] = n;
    return result;
  }

  /** How many node inputs and graph outputs read each value. */
  useCounts(): number[] {
    const counts = new Array<number>(this.valueCount).fill(0);
    for (const n of this.nodes) for (const v of n.inputs) counts[v]++;
    for (const v of this.outputs) counts[v]++;
    return counts;
  }
}
