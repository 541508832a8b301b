import { describe, expect, it } from 'vitest';
import { type AssignProblem, HOST, assign } from '../src/scheduler/assign.js';
import { Random } from '../src/index.js';

// Backend 0 plays wasm (the CPU), backend 1 a GPU: synthetic cost tables, the assignment checked against
// the intended answers and, on random small DAGs, against an exhaustive search.
const CPU = 0;
const GPU = 1;

/** A chain v0 → n0 → n1 → … with per-node costs [cpu, gpu] and a copy model latency + bytes / bandwidth. */
function chain(costs: [number, number][], copy: { latency: number; perMB: number }, bytes = 1 << 20): AssignProblem {
  return {
    nodes: costs.map((_, i) => ({ inputs: [i], output: i + 1, outputBytes: bytes })),
    inputs: [{ value: 0, bytes }],
    outputs: [costs.length],
    backends: 2,
    cost: (i, b) => costs[i][b],
    // Host and CPU share memory: moving between them is nearly free; the GPU pays latency + bandwidth.
    copy: (n, from, to) => {
      const cpuSide = (x: number) => x === HOST || x === CPU;
      if (cpuSide(from) && cpuSide(to)) return (n / (1 << 20)) * 0.05;
      return copy.latency + (n / (1 << 20)) * copy.perMB;
    },
  };
}

/** Every assignment, exhaustively, with the same cost rules: the oracle for small problems. */
function bruteForce(p: AssignProblem): number {
  let best = Number.POSITIVE_INFINITY;
  const n = p.nodes.length;
  const total = p.backends ** n;
  const bytes = new Map<number, number>();
  for (const i of p.inputs) bytes.set(i.value, i.bytes);
  for (const nd of p.nodes) bytes.set(nd.output, nd.outputBytes);
  for (let code = 0; code < total; code++) {
    const bk: number[] = [];
    let c = code;
    for (let i = 0; i < n; i++) {
      bk.push(c % p.backends);
      c = Math.floor(c / p.backends);
    }
    let cost = 0;
    const places = new Map<number, Set<number>>();
    for (const i of p.inputs) places.set(i.value, new Set());
    p.nodes.forEach((nd, i) => {
      const b = bk[i];
      cost += p.cost(i, b);
      for (const v of new Set(nd.inputs)) {
        const have = places.get(v) as Set<number>;
        if (have.has(b)) continue;
        let m = have.size === 0 ? p.copy(bytes.get(v) ?? 0, HOST, b) : Number.POSITIVE_INFINITY;
        for (const h of have) m = Math.min(m, p.copy(bytes.get(v) ?? 0, h, b));
        cost += m;
        have.add(b);
      }
      places.set(nd.output, new Set([b]));
    });
    for (const v of p.outputs) {
      let m = Number.POSITIVE_INFINITY;
      for (const h of places.get(v) as Set<number>) m = Math.min(m, p.copy(bytes.get(v) ?? 0, h, HOST));
      cost += m;
    }
    best = Math.min(best, cost);
  }
  return best;
}

describe('placement assignment (dynamic programming over the plan, copies counted)', () => {
  it('keeps everything on the CPU when the GPU is slower', () => {
    const a = assign(
      chain(
        [
          [1, 2],
          [1, 3],
          [2, 5],
        ],
        { latency: 0.1, perMB: 0.1 },
      ),
    );
    expect(a.backends).toEqual([CPU, CPU, CPU]);
  });

  it('puts everything on the GPU when it is fast and copies are cheap', () => {
    const a = assign(
      chain(
        [
          [5, 1],
          [8, 1],
          [4, 1],
        ],
        { latency: 0.05, perMB: 0.1 },
      ),
    );
    expect(a.backends).toEqual([GPU, GPU, GPU]);
    expect(a.copyMs).toBeGreaterThan(0); // the input up and the output back
  });

  it('mixes: the GPU for the big convolutions, the CPU for the tiny tail at batch 1', () => {
    // Three big layers 10× faster on the GPU, then a tail of small ones where each GPU launch costs more.
    const costs: [number, number][] = [
      [20, 2],
      [30, 3],
      [25, 2.5],
      [0.05, 0.3],
      [0.04, 0.3],
      [0.03, 0.3],
    ];
    const a = assign(chain(costs, { latency: 0.2, perMB: 0.5 }, 64 << 10));
    expect(a.backends).toEqual([GPU, GPU, GPU, CPU, CPU, CPU]);
  });

  it('does not make an island of one slightly faster layer that costs two copies', () => {
    const a = assign(
      chain(
        [
          [1, 5],
          [1, 0.8],
          [1, 5],
        ],
        { latency: 0.5, perMB: 0.5 },
      ),
    );
    expect(a.backends).toEqual([CPU, CPU, CPU]);
    // …but does when the island saves more than the two copies cost.
    const b = assign(
      chain(
        [
          [1, 5],
          [10, 0.8],
          [1, 5],
        ],
        { latency: 0.5, perMB: 0.5 },
      ),
    );
    expect(b.backends).toEqual([CPU, GPU, CPU]);
  });

  it('costs a residual join exactly: the skip value is copied once, where it is read', () => {
    // v0 → n0 (stem) → n1 → n2 → n3 = add(n2, n0) → n4
    const p: AssignProblem = {
      nodes: [
        { inputs: [0], output: 1, outputBytes: 1 << 20 },
        { inputs: [1], output: 2, outputBytes: 1 << 20 },
        { inputs: [2], output: 3, outputBytes: 1 << 20 },
        { inputs: [3, 1], output: 4, outputBytes: 1 << 20 },
        { inputs: [4], output: 5, outputBytes: 1 << 10 },
      ],
      inputs: [{ value: 0, bytes: 1 << 20 }],
      outputs: [5],
      backends: 2,
      cost: (i, b) =>
        [
          [4, 1],
          [6, 1],
          [6, 1],
          [0.5, 0.4],
          [0.1, 0.5],
        ][i][b],
      copy: (n, from, to) =>
        from === to ? 0 : (from === HOST && to === CPU) || (from === CPU && to === HOST) ? 0.01 : 0.3 + n / (1 << 22),
    };
    const a = assign(p);
    expect(a.totalMs).toBeCloseTo(bruteForce(p), 9);
    expect(a.backends.slice(0, 4)).toEqual([GPU, GPU, GPU, GPU]);
  });

  it('never places a node on a backend that lacks its op', () => {
    const p = chain(
      [
        [1, 0.1],
        [1, Number.POSITIVE_INFINITY],
        [1, 0.1],
      ],
      { latency: 0.01, perMB: 0.01 },
    );
    const a = assign(p);
    expect(a.backends[1]).toBe(CPU);
    const none = chain(
      [
        [1, 0.1],
        [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
      ],
      { latency: 0, perMB: 0 },
    );
    expect(() => assign(none)).toThrow(/node 1 has no backend/);
  });

  it('finds the optimum of random small DAGs (exhaustive search as the oracle)', () => {
    const rng = new Random(7);
    for (let t = 0; t < 60; t++) {
      const backends = 2 + (t % 2);
      const n = 3 + Math.floor(rng.next() * 5);
      const nodes = [];
      for (let i = 0; i < n; i++) {
        const inputs = [i]; // the previous value (a chain) …
        if (i > 1 && rng.next() < 0.4) inputs.push(1 + Math.floor(rng.next() * (i - 1))); // … plus a skip
        nodes.push({ inputs, output: i + 1, outputBytes: Math.floor(rng.next() * 4e6) });
      }
      const costs = nodes.map(() =>
        Array.from({ length: backends }, () => (rng.next() < 0.1 ? Number.POSITIVE_INFINITY : rng.next() * 10)),
      );
      for (const c of costs) if (c.every((x) => !Number.isFinite(x))) c[0] = 1;
      const lat = Array.from({ length: backends + 1 }, () => rng.next());
      const p: AssignProblem = {
        nodes,
        inputs: [{ value: 0, bytes: 1e6 }],
        outputs: [n],
        backends,
        cost: (i, b) => costs[i][b],
        copy: (bytes, from, to) => (from === to ? 0 : lat[from + 1] + lat[to + 1] + bytes / 1e7),
      };
      expect(assign(p).totalMs, `case ${t}`).toBeCloseTo(bruteForce(p), 9);
    }
  });
});
