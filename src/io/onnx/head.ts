// A new classification head on an ONNX model: the graph is cut where its classifier reads the features
// (the classifier and whatever only it needed are left out), the features are flattened, and a new Gemm
// maps them to the given number of classes. The result is a whole ONNX model (bytes), so it imports, trains
// (freeze everything but the head) and exports like any other: `vireo import`/`vireo eval` and other ONNX
// runtimes read it. This is how a pretrained ONNX network becomes the frozen backbone of a new classifier.
import { FormatError, ArgumentError } from '../../core/errors.js';
import type { Shape } from '../../core/shape.js';
import { inferShapes } from '../../graph/shapes.js';
import { Linear } from '../../nn/layers/linear.js';
import { type OnnxModelProto, decodeOnnx, types } from './decode.js';
import { importOnnx } from './model.js';

export interface OnnxHeadOptions {
  /** Outputs of the new head (the number of classes). */
  classes: number;
  /**
   * The value the head reads. Default: the input of the classifier that makes the graph's output (a Gemm, or
   * a MatMul with or without an Add after it, with or without a Softmax last); a graph without one keeps
   * every node and the head reads its output.
   */
  features?: string;
  /** Shapes for the input's symbolic dimensions (as importOnnx's option; measuring the features needs them). */
  inputShapes?: Record<string, readonly number[]>;
}

export interface OnnxWithHead {
  /** The new model's .onnx bytes. */
  bytes: Uint8Array;
  /** The value the head reads, and its size per image (after flattening). */
  features: string;
  featureCount: number;
  /** Names of the nodes left out (the old classifier), in graph order. */
  dropped: string[];
  /** The initializer names of the head's parameters and the name of the new output. */
  weight: string;
  bias: string;
  output: string;
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped objects
type Msg = any;

const INT = 2; // AttributeProto.AttributeType.INT
const FLOAT = 1; // TensorProto.DataType.FLOAT

/** The value the old classifier reads: the input of the Gemm/MatMul(+Add)(+Softmax) making `output`, or null. */
function classifierInput(proto: OnnxModelProto, output: string): string | null {
  const producer = (value: string) => proto.nodes.find((n) => n.outputs.includes(value));
  const isParam = (v: string | undefined) => v !== undefined && proto.initializers.has(v);
  let node = producer(output);
  if (node && (node.opType === 'Softmax' || node.opType === 'LogSoftmax')) node = producer(node.inputs[0]);
  if (node?.opType === 'Add') {
    const mm = node.inputs.map(producer).find((n) => n?.opType === 'MatMul');
    if (mm && node.inputs.some(isParam)) node = mm;
  }
  if (node && (node.opType === 'Gemm' || node.opType === 'MatMul') && isParam(node.inputs[1])) return node.inputs[0];
  return null;
}

/** Indices of the nodes `value` needs, in graph order. */
function needed(proto: OnnxModelProto, value: string): Set<number> {
  const producerIndex = new Map<string, number>();
  proto.nodes.forEach((n, i) => {
    for (const o of n.outputs) producerIndex.set(o, i);
  });
  const keep = new Set<number>();
  const stack = [value];
  while (stack.length) {
    const i = producerIndex.get(stack.pop() as string);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    stack.push(...proto.nodes[i].inputs.filter((v) => v !== ''));
  }
  return keep;
}

/** A name not used by any value or node of the graph. */
function freshName(taken: Set<string>, base: string): string {
  let name = base;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

const floatInitializer = (name: string, dims: number[], values: Float32Array) => ({
  name,
  dims,
  data_type: FLOAT,
  raw_data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
});

/**
 * `bytes` (an ONNX model with one image input and one output) with its classifier replaced by a new linear
 * layer to `classes` outputs, initialized as `nn.Linear` is (uniform ±1/√features, from vireo's seeded
 * generator). Errors are FormatErrors (not ONNX, several inputs or outputs, an unknown features value).
 */
export async function onnxWithNewHead(bytes: Uint8Array, options: OnnxHeadOptions): Promise<OnnxWithHead> {
  const { classes } = options;
  if (!Number.isInteger(classes) || classes < 1)
    throw new ArgumentError(`onnxWithNewHead: classes must be a positive integer, got ${classes}`);
  const proto = decodeOnnx(bytes);
  if (proto.inputs.length !== 1 || proto.outputs.length !== 1)
    throw new FormatError(
      `onnxWithNewHead: the model needs one input and one output; it has inputs [${proto.inputs.map((i) => i.name).join(', ')}] and outputs [${proto.outputs.map((o) => o.name).join(', ')}]`,
    );
  const input = proto.inputs[0];
  const features = options.features ?? classifierInput(proto, proto.outputs[0].name) ?? proto.outputs[0].name;
  const known = features === input.name || proto.nodes.some((n) => n.outputs.includes(features));
  if (!known) throw new FormatError(`onnxWithNewHead: no node of the model makes the value '${features}'`);
  const keep = needed(proto, features);

  const { model: Model } = types();
  const m: Msg = Model.decode(bytes);
  const g = m.graph;
  const nodes: Msg[] = g.node ?? [];
  const dropped = proto.nodes.filter((_, i) => !keep.has(i)).map((n) => n.name);
  g.node = nodes.filter((_: Msg, i: number) => keep.has(i));
  const used = new Set<string>(g.node.flatMap((n: Msg) => [...(n.input ?? [])]));
  used.add(features);
  const initializers: Msg[] = g.initializer ?? [];
  g.initializer = initializers.filter((t: Msg) => used.has(t.name));
  // Graph inputs naming a left-out initializer (older exports list every initializer as an input) go too.
  const leftOut = new Set(initializers.filter((t: Msg) => !used.has(t.name)).map((t: Msg) => t.name));
  g.input = (g.input ?? []).filter((v: Msg) => !leftOut.has(v.name));
  g.value_info = []; // shapes of values that may be gone; optional in ONNX
  g.output = [{ name: features }];

  // The features' shape, measured on the cut graph at the input's shape (symbolic dimensions as given).
  const cut = Model.encode(m).finish();
  const backbone = await importOnnx(cut, options.inputShapes ? { inputShapes: options.inputShapes } : {});
  const graph = backbone.buildGraph(backbone.declaredInputShapes, false);
  const shape: Shape = inferShapes(graph, backbone.declaredInputShapes)[graph.outputs[0]];
  if (!shape || shape.length < 2)
    throw new FormatError(
      `onnxWithNewHead: the features '${features}' are shaped [${shape?.join(', ')}]; a head needs [N, ...] per image`,
    );
  const featureCount = shape.slice(1).reduce((a, b) => a * b, 1);

  // Names of what stays (a left-out classifier's output name, often 'logits', is free again).
  const kept = proto.nodes.filter((_, i) => keep.has(i));
  const taken = new Set<string>([
    input.name,
    ...g.initializer.map((t: Msg) => t.name),
    ...kept.flatMap((n) => [...n.inputs, ...n.outputs, n.name]),
  ]);
  let flat = features;
  if (shape.length > 2) {
    flat = freshName(taken, 'head.flatten');
    g.node.push({
      name: freshName(taken, 'head/Flatten'),
      op_type: 'Flatten',
      input: [features],
      output: [flat],
      attribute: [{ name: 'axis', type: INT, i: 1 }],
    });
  }
  const weight = freshName(taken, 'head.weight');
  const bias = freshName(taken, 'head.bias');
  const output = freshName(taken, 'logits');
  const linear = new Linear(featureCount, classes);
  g.initializer.push(
    floatInitializer(weight, [classes, featureCount], linear.weight.values),
    floatInitializer(bias, [classes], (linear.bias as NonNullable<typeof linear.bias>).values),
  );
  g.node.push({
    name: freshName(taken, 'head/Gemm'),
    op_type: 'Gemm',
    input: [flat, weight, bias],
    output: [output],
    attribute: [{ name: 'transB', type: INT, i: 1 }],
  });
  // [batch as the input has it, classes].
  const inputInfo = (g.input as Msg[]).find((v) => v.name === input.name);
  const batchDim = inputInfo?.type?.tensor_type?.shape?.dim?.[0] ?? { dim_param: 'N' };
  g.output = [{ name: output, type: { tensor_type: { elem_type: FLOAT, shape: { dim: [batchDim, { dim_value: classes }] } } } }];
  return { bytes: Model.encode(m).finish(), features, featureCount, dropped, weight, bias, output };
}
