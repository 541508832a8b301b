import { shapeToString } from '../core/shape.js';
import type { OpDef } from './types.js';

/**
 * A strided slice of an activation (ONNX Slice and Split on run-time values): output index i along axis d
 * reads input index starts[d] + i · steps[d] (steps may be negative). The gradient of a step-1 slice is the
 * matching zero pad; other steps have none yet (refused with the reason).
 */
export const sliceOp: OpDef<'slice'> = {
  name: 'slice',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    const r = x.length;
    if (a.starts.length !== r || a.steps.length !== r || a.sizes.length !== r)
      throw new Error(`slice needs one start, step and size per axis of ${shapeToString(x)}`);
    for (let d = 0; d < r; d++) {
      const last = a.starts[d] + (a.sizes[d] - 1) * a.steps[d];
      if (
        a.sizes[d] < 0 ||
        a.steps[d] === 0 ||
        (a.sizes[d] > 0 && (a.starts[d] < 0 || a.starts[d] >= x[d] || last < 0 || last >= x[d]))
      )
        throw new Error(
          `slice of axis ${d} (start ${a.starts[d]}, step ${a.steps[d]}, size ${a.sizes[d]}) leaves ${shapeToString(x)}`,
        );
    }
    return [...a.sizes];
  },
  flops: () => 0,
  grad(ctx) {
    if (!ctx.needsInputGrad[0]) return { inputs: [null], params: {} };
    const { starts, steps, sizes } = ctx.attrs;
    if (steps.some((s) => s !== 1)) throw new Error(`slices with steps [${steps}] have no gradient rule (step 1 only)`);
    const x = ctx.inputShapes[0];
    const pads = [...starts, ...x.map((d, i) => d - starts[i] - sizes[i])];
    return { inputs: [ctx.emit('pad', { pads, value: 0 }, [ctx.dy])], params: {} };
  },
};
