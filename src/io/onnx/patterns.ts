import type { OnnxModelProto, OnnxNode, OnnxTensor } from './decode.js';

/**
 * Element-wise chains that exporters write for one activation, recognised before conversion and replaced by
 * one node, so each runs as one kernel (one pass over memory instead of two to five):
 *
 * - GELU, as torch ≤ 1.13 exports nn.GELU: Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5);
 * - HardSwish, as opset < 14 exports it: Mul(x, HardSigmoid(x; α = 1/6, β = 0.5));
 * - SiLU / Swish: Mul(x, Sigmoid(x));
 * - a linear layer on a rank > 2 input, as torch exports nn.Linear there: MatMul(x, W) → Add(·, bias), W a
 *   [K, N] initializer and bias an [N] one (`MatMulAdd`, converters-fused.ts: one GEMM with a bias epilogue).
 *
 * A chain is fused only when its intermediate values have no other reader and are not graph outputs. The
 * fused node keeps the last node's name and output, so error messages and outputs stay where they were.
 * `Silu` is vireo's name for the fused SiLU (converters-breadth.ts), not an ONNX op.
 */
export function fusePatterns(proto: OnnxModelProto): OnnxNode[] {
  const nodes = proto.nodes;
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of proto.outputs) uses.set(o.name, (uses.get(o.name) ?? 0) + 1);
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);

  /** The scalar value of an initializer or a Constant node's output, else undefined. */
  const scalar = (name: string): number | undefined => {
    const init = proto.initializers.get(name);
    if (init) return init.values.length === 1 ? init.values[0] : undefined;
    const p = producer.get(name);
    if (p?.opType !== 'Constant') return undefined;
    const t = p.attrs.get('value')?.t;
    if (t) return t.values.length === 1 ? t.values[0] : undefined;
    return p.attrs.get('value_float')?.f;
  };
  /** The initializer a value is, directly or through Identity nodes (torch's exporter shares equal ones that way). */
  const initializer = (name: string): OnnxTensor | undefined => {
    for (let k = 0; k < 8; k++) {
      const init = proto.initializers.get(name);
      if (init) return init;
      const p = producer.get(name);
      if (p?.opType !== 'Identity') return undefined;
      name = p.inputs[0];
    }
    return undefined;
  };
  const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);
  const only = (value: string): OnnxNode | undefined => {
    const c = consumers.get(value);
    return uses.get(value) === 1 && c?.length === 1 ? c[0] : undefined;
  };
  /** The input of a binary node other than `value`, when `value` is one of its two inputs. */
  const other = (n: OnnxNode, value: string): string | undefined =>
    n.inputs.length === 2 && n.inputs.includes(value) ? n.inputs[n.inputs[0] === value ? 1 : 0] : undefined;

  const removed = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode>();
  const fused = (last: OnnxNode, opType: string, x: string | string[], chain: OnnxNode[], attrs = new Map()) => {
    for (const n of chain) removed.add(n);
    const inputs = typeof x === 'string' ? [x] : x;
    replaced.set(last, { name: last.name, opType, domain: '', inputs, outputs: [last.outputs[0]], attrs });
  };

  for (const n of nodes) {
    if (removed.has(n) || replaced.has(n)) continue;
    if (n.opType === 'Erf') {
      // GELU: the Erf's input is x / √2 (or x · 1/√2).
      const d = producer.get(n.inputs[0]);
      if (!d || only(d.outputs[0]) !== n || (d.opType !== 'Div' && d.opType !== 'Mul')) continue;
      const [x, c] = d.inputs;
      if (!(d.opType === 'Div' ? near(scalar(c), Math.SQRT2) : near(scalar(c), Math.SQRT1_2))) continue;
      const add = only(n.outputs[0]);
      if (add?.opType !== 'Add' || !near(scalar(other(add, n.outputs[0]) ?? ''), 1)) continue;
      const mul = only(add.outputs[0]);
      if (mul?.opType !== 'Mul' || other(mul, add.outputs[0]) !== x) continue;
      const half = only(mul.outputs[0]);
      if (half?.opType !== 'Mul' || !near(scalar(other(half, mul.outputs[0]) ?? ''), 0.5)) continue;
      fused(half, 'Gelu', x, [d, n, add, mul]);
    } else if (n.opType === 'HardSigmoid' || n.opType === 'Sigmoid') {
      if (n.opType === 'HardSigmoid') {
        const alpha = n.attrs.get('alpha')?.f ?? 0.2;
        const beta = n.attrs.get('beta')?.f ?? 0.5;
        if (!near(alpha, 1 / 6) || !near(beta, 0.5)) continue;
      }
      const x = n.inputs[0];
      const mul = only(n.outputs[0]);
      if (mul?.opType !== 'Mul' || other(mul, n.outputs[0]) !== x) continue;
      fused(mul, n.opType === 'Sigmoid' ? 'Silu' : 'HardSwish', x, [n]);
    } else if (n.opType === 'MatMul') {
      const [x, w] = n.inputs;
      const weight = initializer(w);
      if (weight?.dims.length !== 2) continue;
      const add = only(n.outputs[0]);
      if (add?.opType !== 'Add') continue;
      const bias = other(add, n.outputs[0]) ?? '';
      const b = initializer(bias);
      if (b?.dims.length !== 1 || b.dims[0] !== weight.dims[1]) continue;
      fused(add, 'MatMulAdd', [x, w, bias], [n]);
    }
  }
  if (replaced.size === 0) return nodes;
  return nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
}
