import { normalizeDim, shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import { sumTo } from './reduce.js';
import type { OpDef } from './types.js';
import type { GradContext, GradResult } from './types.js';

/**
 * Gradient rules of the ONNX tensor ops. `binary` differentiates both operands; a broadcast operand's
 * gradient is the full-shape one summed over the axes it is broadcast along (sumTo). add/sub/mul/div are
 * binary ops of dY; max, min, pow and prelu, whose derivatives depend on the operands' values, are one
 * `binaryGrad` op each (src/ops/select.ts), with torch's conventions (ties of max/min split dY in half).
 */
export function binaryGrad(ctx: GradContext<'binary'>): GradResult {
  const { kind } = ctx.attrs;
  const [a, b] = ctx.inputs;
  const emit = (k: 'add' | 'sub' | 'mul' | 'div', x: number, y: number) => ctx.emit('binary', { kind: k }, [x, y]);
  const neg = (v: number) => ctx.emit('unary', { kind: 'affine', min: 0, max: 0, alpha: -1, beta: 0 }, [v]);
  const inputs = ctx.needsInputGrad.map((needed, k) => {
    if (!needed) return null;
    let g: number;
    if (kind === 'max' || kind === 'min' || kind === 'pow' || kind === 'prelu')
      g = ctx.emit('binaryGrad', { kind, operand: k as 0 | 1 }, [ctx.dy, a, b]);
    else if (kind === 'add') g = ctx.dy;
    else if (kind === 'sub') g = k === 0 ? ctx.dy : neg(ctx.dy);
    else if (kind === 'mul') g = emit('mul', ctx.dy, k === 0 ? b : a);
    // div: d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b = -y/b.
    else g = k === 0 ? emit('div', ctx.dy, b) : neg(emit('div', emit('mul', ctx.dy, ctx.output), b));
    const shape = ctx.inputShapes[k];
    return shapesEqual(shape, ctx.outputShape) ? g : sumTo(ctx, g, ctx.outputShape, shape);
  });
  return { inputs, params: {} };
}

/** A trainable constant (an initializer the graph adds or multiplies: a bias, a layer scale) takes dY whole. */
export function constantGrad(ctx: GradContext<'constant'>): GradResult {
  return { inputs: [], params: ctx.needsParamGrad.value ? { value: ctx.dy } : {} };
}

export function transposeGrad(ctx: GradContext<'transpose'>): GradResult {
  const inverse = new Array<number>(ctx.attrs.perm.length);
  ctx.attrs.perm.forEach((p, i) => {
    inverse[p] = i;
  });
  return { inputs: [ctx.needsInputGrad[0] ? ctx.emit('transpose', { perm: inverse }, [ctx.dy]) : null], params: {} };
}

/** The gradient of a constant pad is the matching crop: pad with the negated pads. */
export function padGrad(ctx: GradContext<'pad'>): GradResult {
  return {
    inputs: [ctx.needsInputGrad[0] ? ctx.emit('pad', { pads: ctx.attrs.pads.map((p) => -p), value: 0 }, [ctx.dy]) : null],
    params: {},
  };
}

/** Each input's gradient is its slice of dY along the axis: a crop, i.e. a pad with negative pads. */
export function concatGrad(ctx: GradContext<'concat'>): GradResult {
  const rank = ctx.outputShape.length;
  const axis = normalizeDim(ctx.attrs.axis, rank, 'concat');
  const total = ctx.outputShape[axis];
  let offset = 0;
  const inputs = ctx.inputShapes.map((shape, k) => {
    const begin = offset;
    offset += shape[axis];
    if (!ctx.needsInputGrad[k]) return null;
    const pads = new Array<number>(2 * rank).fill(0);
    pads[axis] = -begin;
    pads[axis + rank] = -(total - begin - shape[axis]);
    return ctx.emit('pad', { pads, value: 0 }, [ctx.dy]);
  });
  return { inputs, params: {} };
}

export function unaryGrad(ctx: GradContext<'unary'>): GradResult {
  return {
    inputs: [ctx.needsInputGrad[0] ? ctx.emit('unaryGrad', { ...ctx.attrs }, [ctx.dy, ctx.inputs[0]]) : null],
    params: {},
  };
}

/** dX = dY · f'(X) for every unary kind (src/ops/unary-math.ts: unaryMathDerivative). */
export const unaryGradOp: OpDef<'unaryGrad'> = {
  name: 'unaryGrad',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([dy, x]) {
    if (!shapesEqual(dy, x)) throw new Error(`dY ${shapeToString(dy)} and X ${shapeToString(x)} differ`);
    return x;
  },
  flops: ([x]) => 2 * sizeOf(x),
};
