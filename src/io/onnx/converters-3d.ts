import { sizeOf } from '../../core/shape.js';
import { windowOutputSize } from '../../ops/util.js';
import { int, ints, str, unsupported } from './attrs.js';
import type { Converter, Val } from './builder.js';
import type { OnnxAttribute, OnnxNode } from './decode.js';
import { constOf } from './fold.js';

/**
 * 3-D convolution and pooling (NCDHW) as their 2-D forms, one per tap of the depth window: the input
 * (padded along depth) is viewed as [N·D, C, H, W]; the 2-D op runs over every depth slice; tap kd of
 * output depth d reads slice d·stride + kd·dilation, a strided slice along depth; the taps combine by a sum
 * (convolution: each tap has its own [O, C/g, kH, kW] weight, a parameter named `weight[kd]`), a maximum
 * (max pooling, depth padded with −∞) or a mean (average pooling: the 2-D averages summed, divided per output
 * depth by the taps that count). Inference-grade: correct and trainable, not fast; vireo targets 2-D images.
 */

type Kind = 'Conv' | 'MaxPool' | 'AveragePool';

/** Per-axis pads (begin..., end...) of a 3-D window, auto_pad resolved. */
function pads3d(n: OnnxNode, dims: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return [0, 0, 0, 0, 0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') return ints(n, 'pads') ?? [0, 0, 0, 0, 0, 0];
  const pads = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const out = Math.ceil(dims[2 + i] / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - dims[2 + i]);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[i + 3] = total - pads[i];
  }
  return pads;
}

export function volumetric(kind: Kind, twoD: Converter): Converter {
  return (b, n, ins) => {
    const x = b.input(n, ins, 0);
    const dims = b.shapeOf(x);
    const w = kind === 'Conv' ? b.constInput(n, ins, 1, 'the weight') : undefined;
    const kernel = ints(n, 'kernel_shape') ?? w?.dims.slice(2);
    if (kernel?.length !== 3) throw unsupported(n, `a 3-D window needs a 3-D kernel_shape, got [${kernel}]`);
    const strides = ints(n, 'strides') ?? [1, 1, 1];
    const dilations = ints(n, 'dilations') ?? [1, 1, 1];
    const pads = pads3d(n, dims, kernel, strides, dilations);
    const ceil = int(n, 'ceil_mode', 0) === 1;
    if (kind === 'AveragePool' && ceil) throw unsupported(n, '3-D average pooling in ceil mode is not supported');
    const [, c, d, h, wd] = dims;
    const outD = windowOutputSize(d, kernel[0], strides[0], pads[0], pads[3], dilations[0], ceil);
    const need = (outD - 1) * strides[0] + dilations[0] * (kernel[0] - 1) + 1;
    const endPad = pads[3] + Math.max(0, need - (d + pads[0] + pads[3]));
    const depth = d + pads[0] + endPad;
    let xp = x;
    if (pads[0] || endPad) {
      const value = kind === 'MaxPool' ? Number.NEGATIVE_INFINITY : 0;
      xp = b.add(n, 'pad', { pads: [0, 0, pads[0], 0, 0, 0, 0, endPad, 0, 0], value }, [xp]);
    }
    const slices = b.add(n, 'transpose', { perm: [0, 2, 1, 3, 4] }, [xp]);
    const flat = b.add(n, 'reshape', { shape: [dims[0] * depth, c, h, wd] }, [slices]);
    // The 2-D node: the height and width attributes, pads explicit.
    const attrs = new Map<string, OnnxAttribute>(n.attrs);
    const set = (key: string, v: number[]) => attrs.set(key, { name: key, ints: v });
    set('kernel_shape', kernel.slice(1));
    set('strides', strides.slice(1));
    set('pads', [pads[1], pads[2], pads[4], pads[5]]);
    if (kind !== 'AveragePool') set('dilations', dilations.slice(1));
    attrs.set('auto_pad', { name: 'auto_pad', s: 'NOTSET' });
    const tap2d = (kd: number): Val => {
      if (!w) return twoD(b, { ...n, attrs }, [flat])[0] as Val;
      const [o, cg, kD] = w.dims;
      const hw = kernel[1] * kernel[2];
      const data = new Float64Array(o * cg * hw);
      for (let oc = 0; oc < o * cg; oc++) for (let i = 0; i < hw; i++) data[oc * hw + i] = w.data[(oc * kD + kd) * hw + i];
      const name = `${n.inputs[1]}[${kd}]`;
      const wk = b.nodeConst(name, constOf([o, cg, kernel[1], kernel[2]], data));
      return twoD(b, { ...n, attrs, inputs: [n.inputs[0], name] }, [flat, wk])[0] as Val;
    };
    const shared = kind === 'Conv' ? undefined : tap2d(0);
    let y: Val | undefined;
    for (let kd = 0; kd < kernel[0]; kd++) {
      const plane = shared ?? tap2d(kd);
      const [, co, ho, wo] = b.shapeOf(plane);
      const vol = b.add(n, 'reshape', { shape: [dims[0], depth, co, ho, wo] }, [plane]);
      const tap = b.add(
        n,
        'slice',
        { starts: [0, kd * dilations[0], 0, 0, 0], steps: [1, strides[0], 1, 1, 1], sizes: [dims[0], outD, co, ho, wo] },
        [vol],
      );
      y = y ? b.add(n, 'binary', { kind: kind === 'MaxPool' ? 'max' : 'add' }, [y, tap]) : tap;
    }
    if (!y) throw unsupported(n, 'an empty depth window');
    if (kind === 'AveragePool') {
      // Divisor per output depth: every tap (count_include_pad = 1), else the taps inside the input.
      const include = int(n, 'count_include_pad', 0) === 1;
      const factors = Array.from({ length: outD }, (_, o) => {
        let taps = 0;
        for (let kd = 0; kd < kernel[0]; kd++) {
          const at = o * strides[0] + kd;
          if (include || (at >= pads[0] && at < pads[0] + d)) taps++;
        }
        return taps ? 1 / taps : 0;
      });
      y = b.add(n, 'binary', { kind: 'mul' }, [y, b.nodeConst(`${n.name}.depthDivisor`, constOf([outD, 1, 1, 1], factors))]);
    }
    if (kind === 'Conv' && ins[2]) {
      const bias = b.constInput(n, ins, 2, 'the bias');
      y = b.add(n, 'binary', { kind: 'add' }, [y, b.nodeConst(n.inputs[2], { ...bias, dims: [sizeOf(bias.dims), 1, 1] })]);
    }
    return [b.add(n, 'transpose', { perm: [0, 2, 1, 3, 4] }, [y])];
  };
}
