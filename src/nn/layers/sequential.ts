import { ArgumentError } from '../../core/errors.js';
import type { Graph, ValueId } from '../../graph/ir.js';
import { Module, childPath } from '../module.js';

const arrayIndex = /^(0|[1-9][0-9]*)$/;

/**
 * Children run in order. Positional children are named '0', '1', … and named ones keep their
 * names, so state-dict keys match PyTorch's nn.Sequential (with or without an OrderedDict). Named
 * children come as an object or, like an OrderedDict, as a Map (whose order is always the insertion order).
 */
export class Sequential extends Module {
  constructor(...children: Module[] | [Record<string, Module>] | [Map<string, Module>]) {
    super();
    const first = children[0];
    if (children.length === 1 && !(first instanceof Module) && typeof first === 'object') {
      const entries = first instanceof Map ? [...first] : Object.entries(first as Record<string, Module>);
      // JavaScript objects list integer-like keys first, whatever order they were written in: mixed with
      // other names, the layers would silently run in the wrong order.
      if (!(first instanceof Map)) {
        const numeric = entries.filter(([name]) => arrayIndex.test(name)).map(([name]) => name);
        if (numeric.length > 0 && numeric.length < entries.length) {
          throw new ArgumentError(
            `Sequential: child names ${numeric.map((n) => `'${n}'`).join(', ')} are integers, which a JavaScript object moves ahead of the other names; pass a Map to keep the order`,
          );
        }
      }
      for (const [name, m] of entries) {
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
