import { shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import type { GradResult, LayerNormAttrs, OpDef } from './types.js';

/**
 * Layer normalization over the trailing `normalizedShape` dimensions (ONNX LayerNormalization, opset 17;
 * torch.nn.LayerNorm): y = (x − mean) / sqrt(var + eps) · weight + bias, biased variance per row.
 */
function rowsOf(x: readonly number[], a: LayerNormAttrs): number {
  const k = a.normalizedShape.length;
  if (k === 0 || k > x.length || !shapesEqual(x.slice(x.length - k), a.normalizedShape))
    throw new Error(`layer norm over [${a.normalizedShape}] does not match the trailing dimensions of ${shapeToString(x)}`);
  return sizeOf(x) / sizeOf(a.normalizedShape);
}

const affineParams = (a: LayerNormAttrs) =>
  a.affine ? { weight: [...a.normalizedShape], bias: [...a.normalizedShape] } : ({} as Record<string, number[]>);

export const layerNormOp: OpDef<'layerNorm'> = {
  name: 'layerNorm',
  arity: 1,
  paramShapes: affineParams,
  inferShape([x], a) {
    rowsOf(x, a);
    return x;
  },
  flops: ([x]) => 8 * sizeOf(x),
  grad(ctx): GradResult {
    const result: GradResult = { inputs: [null], params: {} };
    const ins = [ctx.dy, ctx.inputs[0]];
    if (ctx.needsInputGrad[0])
      result.inputs[0] = ctx.emit('layerNormGradInput', ctx.attrs, ins, ctx.attrs.affine ? ['weight'] : []);
    if (ctx.needsParamGrad.weight) result.params.weight = ctx.emit('layerNormGradWeight', ctx.attrs, ins);
    if (ctx.needsParamGrad.bias) {
      const x = ctx.inputShapes[0];
      const lead = x.length - ctx.attrs.normalizedShape.length;
      const axes = Array.from({ length: lead }, (_, i) => i);
      result.params.bias = ctx.emit('reduce', { kind: 'sum', axes, keepdims: false }, [ctx.dy]);
    }
    return result;
  },
};

/** dX from (dY, X): rstd · (g − mean(g) − x̂ · mean(g · x̂)) per row, g = dY · weight. */
export const layerNormGradInputOp: OpDef<'layerNormGradInput'> = {
  name: 'layerNormGradInput',
  arity: 2,
  paramShapes: (a): Record<string, number[]> => (a.affine ? { weight: [...a.normalizedShape] } : {}),
  inferShape([dy, x], a) {
    rowsOf(x, a);
    if (!shapesEqual(dy, x)) throw new Error(`dY ${shapeToString(dy)} and X ${shapeToString(x)} differ`);
    return x;
  },
  flops: ([x]) => 12 * sizeOf(x),
};

/** dWeight from (dY, X): Σ over rows of dY · x̂. */
export const layerNormGradWeightOp: OpDef<'layerNormGradWeight'> = {
  name: 'layerNormGradWeight',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([, x], a) {
    rowsOf(x, a);
    return [...a.normalizedShape];
  },
  flops: ([x]) => 6 * sizeOf(x),
};
