import protobuf from 'protobufjs/light.js';
import { onnxSchema } from '../../src/io/onnx/schema.js';

const root = protobuf.Root.fromJSON(onnxSchema as unknown as protobuf.INamespace);
const Model = root.lookupType('onnx.ModelProto');

const floatInfo = (name: string, dims: number[]) => ({
  name,
  type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
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
      input: [floatInfo('x', [1, 4]), { name: 'shape', type: { tensor_type: { elem_type: 7, shape: { dim: [{ dim_value: 2 }] } } } }],
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
