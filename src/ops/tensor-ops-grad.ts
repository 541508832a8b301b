import { normalizeDim, shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import type { OpDef } from './types.js';
import type { GradContext, GradResult } from './types.js';

/**
 * Gradient rules of the ONNX tensor ops. `binary` differentiates the operands that have the output's
 * shape (the activations; a broadcast constant is a buffer and needs none): summing a gradient back
 * over broadcast dimensions has no op yet, so a trainable broadcast operand is refused with a reason.
 */
export function binaryGrad(ctx: GradContext<'binary'>): GradResult {
  const { kind } = ctx.attrs;
  const [a, b] = ctx.inputs;
  const emit = (k: 'add' | 'sub' | 'mul' | 'div', x: number, y: number) => ctx.emit('binary', { kind: k }, [x, y]);
  // -v as (v - v) - v: no constant needed.
  const neg = (v: number) => emit('sub', emit('sub', v, v), v);
  const inputs = ctx.needsInputGrad.map((needed, k) => {
    if (!needed) return null;
    if (!shapesEqual(ctx.inputShapes[k], ctx.outputShape)) {
      throw new Error(
        `${kind}: input ${k} ${shapeToString(ctx.inputShapes[k])} is broadcast to ${shapeToString(ctx.outputShape)}; ` +
          'gradients of broadcast operands are not supported (freeze it: requiresGrad = false)',
      );
    }
    if (kind === 'add') return ctx.dy;
    if (kind === 'sub') return k === 0 ? ctx.dy : neg(ctx.dy);
    if (kind === 'mul') return emit('mul', ctx.dy, k === 0 ? b : a);
    // div: d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b = -y/b.
    return k === 0 ? emit('div', ctx.dy, b) : neg(emit('div', emit('mul', ctx.dy, ctx.output), b));
  });
  return { inputs, params: {} };
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

/** dX = dY · f'(X) for clip (1 strictly inside the bounds, as torch.clamp) and hardSwish. */
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
