import { VireoError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, sizeOf } from '../core/shape.js';
import type { Backend, DeviceMemory, ParamHandle, PreparedKernel } from '../backends/backend.js';
import type { GraphNode } from './ir.js';
import { layerLabel } from './shapes.js';

/** Validate mode's oracle and tolerances: |got − want| ≤ atol·max(1, max|want|) + rtol·|want|. */
export interface ValidateSpec {
  reference: Backend;
  rtol: number;
  atol: number;
}

/**
 * Validate mode (tinygrad's VALIDATE_WITH_CPU is the example): a kernel step's inputs, read back from its
 * backend, run through the reference backend's kernel for the same node with the same parameters; the first
 * output value that differs beyond tolerance stops the run naming the layer, the index and both values.
 * Random ops are skipped (a second draw from the layer's generator would change the real run), and so are
 * steps on the reference itself and memories the host cannot read synchronously.
 */
export function validateStep(
  v: ValidateSpec,
  node: GraphNode,
  backend: Backend,
  inputs: readonly number[],
  output: number,
  shapes: readonly Shape[],
): void {
  const op = node.op;
  if (op === 'dropout' || op === 'dropoutMask') return;
  if (backend === v.reference) return;
  const readSync = backend.memory.readSync;
  if (!readSync) return;
  const mem = backend.memory;
  const ref = v.reference;
  const inputShapes = node.inputs.map((x) => shapes[x]);
  const outputShape = shapes[node.output];
  const handles: Record<string, ParamHandle> = {};
  const temps: number[] = [];
  // Copies of the parameters as the step read them (BatchNorm in training has since updated its statistics
  // in place: the reference must not update the real ones a second time).
  const mirrorOf = (p: Parameter): ParamHandle => {
    const ptr = ref.memory.alloc(4 * p.size);
    temps.push(ptr);
    ref.memory.upload(ptr, p.values);
    return { ptr, size: p.size, shape: p.shape, changed: () => {} };
  };
  for (const [key, p] of Object.entries(node.params)) handles[key] = mirrorOf(p);
  const factory = ref.kernels[op] as ((ctx: unknown) => PreparedKernel) | undefined;
  if (!factory) return;
  const kernel = factory({ op, name: node.name, attrs: node.attrs, params: handles, inputShapes, outputShape });
  try {
    kernel.pack?.();
    const ins = inputs.map((ptr, i) => {
      const n = sizeOf(inputShapes[i]);
      const at = ref.memory.alloc(4 * n);
      temps.push(at);
      ref.memory.upload(at, readSync.call(mem, ptr, n));
      return at;
    });
    const n = sizeOf(outputShape);
    const out = ref.memory.alloc(4 * n);
    const scratch = ref.memory.alloc(kernel.scratchBytes + 64);
    temps.push(out, scratch);
    kernel.run(ins, out, scratch);
    const want = (ref.memory.readSync as NonNullable<DeviceMemory['readSync']>)(out, n);
    const got = readSync.call(mem, output, n);
    let scale = 0;
    for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(want[i]));
    for (let i = 0; i < n; i++) {
      const a = got[i];
      const b = want[i];
      const bad = Number.isNaN(a) !== Number.isNaN(b) || Math.abs(a - b) > v.atol * Math.max(1, scale) + v.rtol * Math.abs(b);
      if (bad) {
        throw new VireoError(
          `validate: ${layerLabel(node)} on '${backend.name}' differs from the reference backend at output index ${i} of ${shapeToString(outputShape)}: got ${a}, reference ${b}`,
        );
      }
    }
  } finally {
    kernel.dispose?.();
    for (const p of temps) ref.memory.free(p);
  }
}
