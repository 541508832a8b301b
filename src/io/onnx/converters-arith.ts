import { sizeOf } from '../../core/shape.js';
import type { Parameter } from '../../core/parameter.js';
import { type ActivationKind, type BinaryKind, noActivation } from '../../ops/types.js';
import { addOrFold, allConst, cval, float, int } from './attrs.js';
import type { Builder, Converter, Val } from './builder.js';
import type { OnnxNode } from './decode.js';
import { binaryConst, constOf, transposeConst } from './fold.js';

/** Converters of the arithmetic ops: Gemm, MatMul, broadcasting Add/Sub/Mul/Div, activations, Clip. */

function activation(kind: ActivationKind, alpha?: (n: OnnxNode) => number): Converter {
  return (b, n, ins) => [b.add(n, 'activation', { kind, alpha: alpha ? alpha(n) : 0 }, [b.input(n, ins, 0)])];
}

function binary(kind: BinaryKind): Converter {
  return (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const y = b.input(n, ins, 1);
    if (x.kind === 'const' && y.kind === 'const') return [b.nodeConst(n.outputs[0], binaryConst(n.opType, x.c, y.c))];
    return [b.add(n, 'binary', { kind }, [x, y])];
  };
}

function gemm(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const a = b.input(n, ins, 0);
  const wv = b.input(n, ins, 1);
  const alpha = float(n, 'alpha', 1);
  const beta = float(n, 'beta', 1);
  const transA = int(n, 'transA', 0) === 1;
  const transB = int(n, 'transB', 0) === 1;
  const c = ins[2];
  if (wv.kind === 'const' && !transA && a.kind === 'value' && (!c || c.kind === 'const')) {
    const [rows, cols] = wv.c.dims;
    const outF = transB ? rows : cols;
    const inF = transB ? cols : rows;
    const suffix = (transB ? '' : '.T') + (alpha !== 1 ? `*${alpha}` : '');
    const weight = b.params.get(n.inputs[1] + suffix, wv.c, { trainable: true }, (w) => {
      const t = transB ? w : transposeConst(w, [1, 0]);
      return { ...t, data: t.data.map((v) => v * alpha) };
    });
    const params: Record<string, Parameter> = { weight };
    if (c && beta !== 0) {
      const cc = cval(c);
      if (sizeOf(cc.dims) === outF || sizeOf(cc.dims) === 1) {
        params.bias = b.params.get(n.inputs[2] + (beta !== 1 ? `*${beta}` : ''), cc, { trainable: true }, (t) =>
          constOf(
            [outF],
            Array.from({ length: outF }, (_, i) => beta * t.data[sizeOf(cc.dims) === 1 ? 0 : i]),
          ),
        );
      } else {
        const y = b.add(n, 'linear', { inFeatures: inF, outFeatures: outF, bias: false, activation: noActivation }, [a], params);
        const scaled = beta === 1 ? cc : { ...cc, data: cc.data.map((v) => v * beta) };
        return [b.add(n, 'binary', { kind: 'add' }, [y, b.nodeConst(`${n.inputs[2]}*${beta}`, scaled)])];
      }
    }
    return [
      b.add(n, 'linear', { inFeatures: inF, outFeatures: outF, bias: !!params.bias, activation: noActivation }, [a], params),
    ];
  }
  // General form: alpha * A' B' + beta * C, on matmul and binary ops (or folded when all constant).
  const t = (v: Val, tr: boolean): Val =>
    !tr
      ? v
      : v.kind === 'const'
        ? b.nodeConst(`${v.name}.T`, transposeConst(v.c, [1, 0]))
        : b.add(n, 'transpose', { perm: [1, 0] }, [v]);
  if (allConst(ins)) {
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => gemmGeneral(s, n, t(a, transA), t(wv, transB), alpha, beta, c)),
      ),
    ];
  }
  return [gemmGeneral(b, n, t(a, transA), t(wv, transB), alpha, beta, c)];
}

function gemmGeneral(b: Builder, n: OnnxNode, a: Val, w: Val, alpha: number, beta: number, c: Val | undefined): Val {
  let y = b.add(n, 'matmul', {}, [a, w]);
  if (alpha !== 1) y = b.add(n, 'binary', { kind: 'mul' }, [y, b.nodeConst(`${n.name}.alpha`, constOf([], [alpha]))]);
  if (c && beta !== 0) {
    const cc =
      beta === 1
        ? c
        : c.kind === 'const'
          ? b.nodeConst(`${c.name}*${beta}`, { ...c.c, data: c.c.data.map((v) => v * beta) })
          : b.add(n, 'binary', { kind: 'mul' }, [c, b.nodeConst(`${n.name}.beta`, constOf([], [beta]))]);
    y = b.add(n, 'binary', { kind: 'add' }, [y, cc]);
  }
  return y;
}

function matmul(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const a = b.input(n, ins, 0);
  const w = b.input(n, ins, 1);
  if (allConst(ins))
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => s.add(n, 'matmul', {}, [a, w])),
      ),
    ];
  if (w.kind === 'const' && w.c.dims.length === 2 && b.shapeOf(a).length >= 2) {
    const weight = b.params.get(`${n.inputs[1]}.T`, w.c, { trainable: true }, (c) => transposeConst(c, [1, 0]));
    return [
      b.add(n, 'linear', { inFeatures: w.c.dims[0], outFeatures: w.c.dims[1], bias: false, activation: noActivation }, [a], {
        weight,
      }),
    ];
  }
  return [b.add(n, 'matmul', {}, [a, w])];
}

function clip(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  let min = float(n, 'min', Number.NEGATIVE_INFINITY);
  let max = float(n, 'max', Number.POSITIVE_INFINITY);
  if (b.opset >= 11) {
    // Bounds fed at run time: max(x, min) then min(·, max) (NaN propagates, as Clip keeps a NaN x).
    if ((ins[1] && ins[1].kind !== 'const') || (ins[2] && ins[2].kind !== 'const')) {
      let y = x;
      if (ins[1]) y = b.add(n, 'binary', { kind: 'max' }, [y, ins[1]]);
      if (ins[2]) y = b.add(n, 'binary', { kind: 'min' }, [y, ins[2]]);
      return [y];
    }
    min = ins[1] ? b.constInput(n, ins, 1, 'min').data[0] : Number.NEGATIVE_INFINITY;
    max = ins[2] ? b.constInput(n, ins, 2, 'max').data[0] : Number.POSITIVE_INFINITY;
  }
  if (x.kind === 'const')
    return [
      b.nodeConst(
        n.outputs[0],
        b.foldWithReference(n, (s) => s.add(n, 'unary', { kind: 'clip', min, max }, [x])),
      ),
    ];
  if (min === 0 && max === 6) return [b.add(n, 'activation', { kind: 'relu6', alpha: 0 }, [x])];
  if (min === 0 && max === Number.POSITIVE_INFINITY) return [b.add(n, 'activation', { kind: 'relu', alpha: 0 }, [x])];
  return [b.add(n, 'unary', { kind: 'clip', min, max }, [x])];
}

/**
 * PRelu: x < 0 ? x · slope : x, slope broadcast to x (per channel [C, 1, 1] as torch exports it, or one
 * value). A known slope is a trainable parameter even when it is a single value (torch's nn.PReLU()).
 */
function prelu(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  const x = b.input(n, ins, 0);
  let slope = b.input(n, ins, 1);
  const dims = b.shapeOf(x);
  const sd = b.shapeOf(slope);
  // Before opset 7 a [C] slope is per channel (dimension 1), not NumPy-aligned with the last dimension.
  if (b.opset < 7 && sd.length === 1 && dims.length > 2 && sd[0] === dims[1] && sd[0] !== 1) {
    const shape = [sd[0], ...new Array(dims.length - 2).fill(1)];
    slope =
      slope.kind === 'const' ? b.nodeConst(slope.name, { ...slope.c, dims: shape }) : b.add(n, 'reshape', { shape }, [slope]);
  }
  if (x.kind === 'const' && slope.kind === 'const') return [addOrFold(b, n, 'binary', { kind: 'prelu' }, [x, slope])];
  // Registered before the graph asks for the constant, so its node reads this trainable parameter.
  if (slope.kind === 'const' && b.model.initializers.has(slope.name)) b.params.get(slope.name, slope.c, { trainable: true });
  return [b.add(n, 'binary', { kind: 'prelu' }, [x, slope])];
}

/** Where(condition, x, y): a bool condition arrives as 0/1 (known at import or fed at run time). */
function where(b: Builder, n: OnnxNode, ins: (Val | undefined)[]): Val[] {
  return [addOrFold(b, n, 'where', {}, [b.input(n, ins, 0), b.input(n, ins, 1), b.input(n, ins, 2)])];
}

/** Converters by ONNX op type, merged into the main table (converters.ts). */
export const arithConverters: Record<string, Converter> = {
  Gemm: gemm,
  MatMul: matmul,
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Relu: activation('relu'),
  LeakyRelu: activation('leakyRelu', (n) => float(n, 'alpha', 0.01)),
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  Clip: clip,
  PRelu: prelu,
  Where: where,
  HardSwish: (b, n, ins) => [b.add(n, 'unary', { kind: 'hardSwish', min: 0, max: 0 }, [b.input(n, ins, 0)])],
};
