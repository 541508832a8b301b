import protobuf from 'protobufjs/light.js';
import { onnxSchema } from '../../src/io/onnx/schema.js';

const root = protobuf.Root.fromJSON(onnxSchema as unknown as protobuf.INamespace);
const Model = root.lookupType('onnx.ModelProto');

/** A float tensor's type; a string dim is symbolic (dim_param), as in a dynamic-batch export. */
const floatInfo = (name: string, dims: (number | string)[]) => ({
  name,
  type: {
    tensor_type: {
      elem_type: 1,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
    },
  },
});

/** Small hand-built ModelProtos for the error tests: one node of `op`, named my_<op>. */
export function buildModel(o: { op: string; externalWeight?: boolean; dynamicShape?: boolean }): Uint8Array {
  const nodeName = `my_${o.op.toLowerCase()}`;
  let graph: Record<string, unknown>;
  if (o.op === 'Conv') {
    graph = {
      name: 'g',
      node: [{ name: nodeName, op_type: 'Conv', input: ['x', 'W'], output: ['y'] }],
      initializer: [
        {
          name: 'W',
          dims: [1, 1, 3, 3],
          data_type: 1,
          data_location: 1,
          external_data: [{ key: 'location', value: 'weights.bin' }],
        },
      ],
      input: [floatInfo('x', [1, 1, 5, 5])],
      output: [floatInfo('y', [1, 1, 3, 3])],
    };
  } else if (o.op === 'Reshape') {
    // The target shape comes from a second graph input: only known at run time.
    graph = {
      name: 'g',
      node: [
        { name: 'relu', op_type: 'Relu', input: ['x'], output: ['r'] },
        { name: nodeName, op_type: 'Reshape', input: ['r', 'shape'], output: ['y'] },
      ],
      input: [
        floatInfo('x', [1, 4]),
        { name: 'shape', type: { tensor_type: { elem_type: 7, shape: { dim: [{ dim_value: 2 }] } } } },
      ],
      output: [floatInfo('y', [2, 2])],
    };
  } else {
    graph = {
      name: 'g',
      node: [{ name: nodeName, op_type: o.op, input: ['x'], output: ['y'] }],
      input: [floatInfo('x', [1, 4])],
      output: [floatInfo('y', [1, 4])],
    };
  }
  const msg = Model.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 13 }], graph });
  return Model.encode(msg).finish();
}

export interface NodeSpec {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  attribute?: Record<string, unknown>[];
}

/** Attribute helpers in onnx.proto's encoding (type: 1 float, 2 int, 3 string, 6 floats, 7 ints). */
export const attr = {
  f: (name: string, f: number) => ({ name, type: 1, f }),
  i: (name: string, i: number) => ({ name, type: 2, i }),
  s: (name: string, s: string) => ({ name, type: 3, s: new TextEncoder().encode(s) }),
  ints: (name: string, ints: number[]) => ({ name, type: 7, ints }),
};

/** A float32 or int64 initializer. */
export function init(name: string, dims: number[], values: number[], int64 = false) {
  return int64 ? { name, dims, data_type: 7, int64_data: values } : { name, dims, data_type: 1, float_data: values };
}

/** A one-graph model at `opset`, input 'x' of `inShape`, output 'y'. */
export function graphModel(
  opset: number,
  inShape: (number | string)[],
  nodes: NodeSpec[],
  initializers: Record<string, unknown>[] = [],
): Uint8Array {
  const graph = {
    name: 'g',
    node: nodes.map((n, k) => ({ name: n.name ?? `n${k}`, ...n })),
    initializer: initializers,
    input: [floatInfo('x', inShape)],
    output: [{ name: 'y', type: { tensor_type: { elem_type: 1 } } }],
  };
  const msg = Model.fromObject({ ir_version: opset >= 13 ? 7 : 5, opset_import: [{ domain: '', version: opset }], graph });
  return Model.encode(msg).finish();
}
