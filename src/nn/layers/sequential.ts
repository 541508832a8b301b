import { ArgumentError } from '../../core/errors.js';
import type { Graph, ValueId } from '../../graph/ir.js';
import { Module, childPath } from '../module.js';

/**
 * Children run in order. Positional children are named '0', '1', … and named ones keep their
 * names, so state-dict keys match PyTorch's nn.Sequential (with or without an OrderedDict).
 */
export class Sequential extends Module {
  constructor(...children: Module[] | [Record<string, Module>]) {
    super();
    const first = children[0];
    if (children.length === 1 && !(first instanceof Module) && typeof first === 'object') {
      for (const [name, m] of Object.entries(first as Record<string, Module>)) {
        if (name.includes('.')) throw new ArgumentError(`Sequential: child name '${name}' must not contain '.'`);
        this.registerModule(name, m);
      }
    } else {
      (children as Module[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }

  emit(graph: Graph, inputs: ValueId[], path: string): ValueId {
    let current = inputs;
    for (const [name, child] of this.namedChildren()) current = [child.emit(graph, current, childPath(path, name))];
    return current[0];
  }
}
