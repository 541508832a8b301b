import { sizeOf } from '../../core/shape.js';
import { noActivation } from '../../ops/types.js';
import type { Converter } from './builder.js';
import { converters } from './converters.js';
import { transposeConst } from './fold.js';

/**
 * Converters of the vireo-only node types that patterns.ts writes in place of an exporter's chain (not ONNX
 * ops; model.ts looks them up after the ONNX table).
 *
 * MatMulAdd(x, W, bias) is MatMul(x, W) → Add(·, bias) with W a [K, N] initializer and bias N values: torch
 * exports nn.Linear on a rank > 2 input (ConvNeXt's MLP, a transformer's projections) that way rather than
 * as Gemm. One `linear` with a bias runs the add in the GEMM's epilogue instead of a broadcasting pass over
 * the whole output. The parameters keep the names and trainability the unfused ops give them.
 */
export const fusedConverters: Record<string, Converter> = {
  MatMulAdd: (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const w = b.input(n, ins, 1);
    const c = b.input(n, ins, 2);
    if (
      x.kind === 'value' &&
      b.shapeOf(x).length >= 2 &&
      w.kind === 'const' &&
      w.c.dims.length === 2 &&
      c.kind === 'const' &&
      sizeOf(c.c.dims) === w.c.dims[1]
    ) {
      const [inFeatures, outFeatures] = w.c.dims;
      const weight = b.params.get(`${n.inputs[1]}.T`, w.c, { trainable: true }, (t) => transposeConst(t, [1, 0]));
      // Named and trainable as the Add's constant operand would be (Builder.asValue): an exporter that shared
      // one initializer between equal biases (torch's Identity nodes) gets one parameter, as before the fusion.
      const bias = b.params.get(c.name, c.c, { trainable: outFeatures > 1 }, (t) => ({ ...t, dims: [outFeatures] }));
      return [b.add(n, 'linear', { inFeatures, outFeatures, bias: true, activation: noActivation }, [x], { weight, bias })];
    }
    // Any other operands (a constant x folds here): the two ONNX ops, as the file wrote them.
    const product = `${n.outputs[0]}.matmul`;
    const [y] = converters.MatMul(b, { ...n, opType: 'MatMul', inputs: n.inputs.slice(0, 2), outputs: [product] }, [
      ins[0],
      ins[1],
    ]);
    return converters.Add(b, { ...n, opType: 'Add', inputs: [product, n.inputs[2]] }, [y, ins[2]]);
  },
};
