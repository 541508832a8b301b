/**
 * Placement as an optimization: each node of a plan gets the backend that minimizes the total time of the
 * whole plan — every node's time on its backend plus every copy the choice makes (a value read on a backend
 * it does not live on is copied there once; graph inputs arrive from the host and outputs return to it).
 *
 * Dynamic programming over the plan's order. A state is where each value that is still needed lives
 * (its home and the backends it was already copied to), so joins (residual adds) and values read by several
 * layers are costed exactly, not greedily: an island of one fast layer between two slow ones pays both copies.
 * States with the same live set and places are merged (the cheaper wins); a beam bounds pathological DAGs.
 */

/** The host side of graph inputs and outputs. */
export const HOST = -1;

export interface AssignNode {
  /** Value ids read (graph inputs or earlier nodes' outputs). */
  inputs: readonly number[];
  output: number;
  /** Bytes of the output value (what a copy of it moves). */
  outputBytes: number;
}

export interface AssignProblem {
  nodes: readonly AssignNode[];
  /** Graph input value ids and their bytes (they start on the host). */
  inputs: readonly { value: number; bytes: number }[];
  /** Values read back by the host at the end. */
  outputs: readonly number[];
  backends: number;
  /** ms of node i on backend b; Infinity when b has no kernel for it. */
  cost(node: number, backend: number): number;
  /** ms to move `bytes` from one backend to another (HOST = -1 for the host). */
  copy(bytes: number, from: number, to: number): number;
}

export interface Assignment {
  /** Backend of each node. */
  backends: number[];
  /** Estimated total ms: kernels plus copies. */
  totalMs: number;
  copyMs: number;
}

interface State {
  /** value id → bitmask of backends holding it (bit b), host not included. */
  places: Map<number, number>;
  cost: number;
  copyMs: number;
  choice: number[];
}

const BEAM = 4096;

function key(places: Map<number, number>): string {
  return [...places.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([v, m]) => `${v}:${m}`)
    .join(',');
}

/** The cheapest placement; throws when some node has no backend at all. */
export function assign(p: AssignProblem): Assignment {
  const bytesOf = new Map<number, number>();
  for (const i of p.inputs) bytesOf.set(i.value, i.bytes);
  for (const n of p.nodes) bytesOf.set(n.output, n.outputBytes);
  // The last node reading each value (outputs are read after the last node).
  const lastUse = new Map<number, number>();
  p.nodes.forEach((n, i) => {
    for (const v of n.inputs) lastUse.set(v, i);
  });
  for (const v of p.outputs) lastUse.set(v, p.nodes.length);
  const inputSet = new Set(p.inputs.map((i) => i.value));

  let states: State[] = [{ places: new Map(), cost: 0, copyMs: 0, choice: [] }];
  p.nodes.forEach((node, i) => {
    const next = new Map<string, State>();
    for (const s of states) {
      for (let b = 0; b < p.backends; b++) {
        const c = p.cost(i, b);
        if (!Number.isFinite(c)) continue;
        const places = new Map(s.places);
        let copies = 0;
        for (const v of new Set(node.inputs)) {
          const have = places.get(v) ?? 0;
          if (have & (1 << b)) continue;
          const bytes = bytesOf.get(v) ?? 0;
          // A graph input not yet uploaded comes from the host; any other value from its cheapest holder.
          let best = Number.POSITIVE_INFINITY;
          if (have === 0 && inputSet.has(v)) best = p.copy(bytes, HOST, b);
          for (let h = 0; h < p.backends; h++) if (have & (1 << h)) best = Math.min(best, p.copy(bytes, h, b));
          copies += best;
          places.set(v, have | (1 << b));
        }
        places.set(node.output, 1 << b);
        for (const v of [...places.keys()]) if ((lastUse.get(v) ?? -1) <= i) places.delete(v);
        const state: State = { places, cost: s.cost + c + copies, copyMs: s.copyMs + copies, choice: [...s.choice, b] };
        const k = key(places);
        const prev = next.get(k);
        if (!prev || state.cost < prev.cost) next.set(k, state);
      }
    }
    if (next.size === 0) throw new Error(`node ${i} has no backend that can run it`);
    states = [...next.values()].sort((a, b) => a.cost - b.cost).slice(0, BEAM);
  });
  // Outputs go back to the host from wherever they live.
  let best: State | null = null;
  let bestTotal = Number.POSITIVE_INFINITY;
  for (const s of states) {
    let out = 0;
    for (const v of p.outputs) {
      const have = s.places.get(v) ?? 0;
      let c = Number.POSITIVE_INFINITY;
      for (let h = 0; h < p.backends; h++) if (have & (1 << h)) c = Math.min(c, p.copy(bytesOf.get(v) ?? 0, h, HOST));
      out += Number.isFinite(c) ? c : 0;
    }
    if (s.cost + out < bestTotal) {
      bestTotal = s.cost + out;
      best = { ...s, copyMs: s.copyMs + out };
    }
  }
  const chosen = best as State;
  return { backends: chosen.choice, totalMs: bestTotal, copyMs: chosen.copyMs };
}
