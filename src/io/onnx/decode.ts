import protobuf from 'protobufjs/light.js';
import { FormatError } from '../../core/errors.js';
import { onnxSchema } from './schema.js';

/** The parts of onnx.proto vireo reads, with int64 fields as numbers. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  /** Values as float64 (float32, int32 and int64 initializers alike). */
  values: Float64Array;
  dataType: number;
}
export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}
export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}
export interface OnnxValueInfo {
  name: string;
  /** Dimensions; a string for a symbolic dimension, null when unknown. */
  dims: (number | string | null)[] | null;
  elemType: number;
}
export interface OnnxModelProto {
  irVersion: number;
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

let modelType: protobuf.Type | null = null;
let tensorType: protobuf.Type | null = null;
/** The protobuf types of onnx.proto's ModelProto and TensorProto (for code that rewrites a model's bytes). */
export function types(): { model: protobuf.Type; tensor: protobuf.Type } {
  if (!modelType || !tensorType) {
    const root = protobuf.Root.fromJSON(onnxSchema as unknown as protobuf.INamespace);
    modelType = root.lookupType('onnx.ModelProto');
    tensorType = root.lookupType('onnx.TensorProto');
  }
  return { model: modelType, tensor: tensorType };
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped objects
type Msg = any;

const num = (v: unknown): number => (typeof v === 'number' ? v : v == null ? 0 : (v as { toNumber(): number }).toNumber());

/** TensorProto.DataType values vireo can read (all are converted to float32 in the engine). */
export const dataTypeNames: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Decodes a TensorProto's values; `where` names the initializer or node for errors. */
export function tensorValues(t: Msg, where: string): OnnxTensor {
  const name: string = t.name ?? '';
  const dims = (t.dims ?? []).map(num);
  const dataType = num(t.data_type);
  const count = dims.reduce((a: number, b: number) => a * b, 1);
  if (dims.some((d: number) => d < 0 || !Number.isSafeInteger(d)) || count > 2 ** 31) {
    throw new FormatError(`${where}: tensor '${name}' has invalid dimensions [${dims}]`);
  }
  if (num(t.data_location) === 1 || (t.external_data ?? []).length > 0) {
    const location = (t.external_data ?? []).find((e: Msg) => e.key === 'location')?.value ?? '(no location)';
    throw new FormatError(
      `${where}: tensor '${name}' keeps its data in an external file '${location}', which importOnnx cannot read; ` +
        're-save the model with onnx.save_model(model, path, save_as_external_data=False)',
    );
  }
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined;
  const values = new Float64Array(count);
  const fromRaw = (size: number, read: (v: DataView, o: number) => number): void => {
    if (!raw) return;
    if (raw.length !== count * size) {
      throw new FormatError(
        `${where}: tensor '${name}' has ${raw.length} bytes of data, expected ${count * size} for [${dims}] ${dataTypeNames[dataType]}`,
      );
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) values[i] = read(view, i * size);
  };
  const fromList = (list: unknown[] | undefined, map: (v: unknown) => number = num): void => {
    if (raw) return;
    const l = list ?? [];
    if (l.length !== count)
      throw new FormatError(`${where}: tensor '${name}' holds ${l.length} values, expected ${count} for [${dims}]`);
    for (let i = 0; i < count; i++) values[i] = map(l[i]);
  };
  switch (dataType) {
    case 1:
      fromRaw(4, (v, o) => v.getFloat32(o, true));
      fromList(t.float_data);
      break;
    case 11:
      fromRaw(8, (v, o) => v.getFloat64(o, true));
      fromList(t.double_data);
      break;
    case 7:
      fromRaw(8, (v, o) => Number(v.getBigInt64(o, true)));
      fromList(t.int64_data);
      break;
    case 6:
      fromRaw(4, (v, o) => v.getInt32(o, true));
      fromList(t.int32_data);
      break;
    case 2:
    case 9:
      fromRaw(1, (v, o) => v.getUint8(o));
      fromList(t.int32_data);
      break;
    case 3:
      fromRaw(1, (v, o) => v.getInt8(o));
      fromList(t.int32_data);
      break;
    case 10:
      fromRaw(2, (v, o) => halfToFloat(v.getUint16(o, true)));
      fromList(t.int32_data, (x) => halfToFloat(num(x)));
      break;
    default:
      throw new FormatError(
        `${where}: tensor '${name}' has data type ${dataTypeNames[dataType] ?? dataType}, which vireo does not read`,
      );
  }
  return { name, dims, values, dataType };
}

function valueInfo(v: Msg): OnnxValueInfo {
  const tt = v.type?.tensor_type;
  const dims = tt?.shape
    ? (tt.shape.dim ?? []).map((d: Msg) =>
        d.dim_value != null && d.value === 'dim_value' ? num(d.dim_value) : d.dim_param ? String(d.dim_param) : null,
      )
    : null;
  return { name: v.name ?? '', dims, elemType: num(tt?.elem_type) };
}

function attribute(a: Msg, where: string): OnnxAttribute {
  const out: OnnxAttribute = { name: a.name ?? '' };
  const type = num(a.type);
  if (type === 1) out.f = a.f ?? 0;
  if (type === 2) out.i = num(a.i);
  if (type === 3) out.s = new TextDecoder().decode(a.s ?? new Uint8Array());
  if (type === 4 && a.t) out.t = tensorValues(a.t, where);
  if (type === 6) out.floats = [...(a.floats ?? [])];
  if (type === 7) out.ints = (a.ints ?? []).map(num);
  if (type === 5 || type === 10)
    throw new FormatError(`${where}: attribute '${out.name}' is a subgraph, which vireo does not import`);
  return out;
}

/** Parses the bytes of a .onnx file; every problem is a FormatError that says what is wrong. */
export function decodeOnnx(bytes: Uint8Array): OnnxModelProto {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('importOnnx: expected the bytes of a .onnx file as a Uint8Array');
  if (bytes.length === 0) throw new FormatError('importOnnx: the file is empty');
  let m: Msg;
  try {
    m = types().model.decode(bytes);
  } catch (e) {
    throw new FormatError(`importOnnx: not a valid ONNX ModelProto (truncated or corrupt protobuf: ${(e as Error).message})`);
  }
  const g = m.graph;
  if (!g || num(m.ir_version) === 0) {
    throw new FormatError('importOnnx: not an ONNX model (no ir_version or graph in the ModelProto); is this a .onnx file?');
  }
  const defaultDomain = (m.opset_import ?? []).find((o: Msg) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaultDomain ? num(defaultDomain.version) : 1;
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) {
    const tensor = tensorValues(t, `initializer '${t.name}'`);
    initializers.set(tensor.name, tensor);
  }
  const nodes: OnnxNode[] = (g.node ?? []).map((n: Msg, i: number) => {
    const name = n.name || `${n.op_type}_${i}`;
    const where = `node '${name}' (${n.op_type})`;
    return {
      name,
      opType: String(n.op_type ?? ''),
      domain: String(n.domain ?? ''),
      inputs: [...(n.input ?? [])].map(String),
      outputs: [...(n.output ?? [])].map(String),
      attrs: new Map((n.attribute ?? []).map((a: Msg) => [a.name, attribute(a, where)])),
    };
  });
  return {
    irVersion: num(m.ir_version),
    opset,
    producer: String(m.producer_name ?? ''),
    nodes,
    initializers,
    inputs: (g.input ?? []).map(valueInfo).filter((v: OnnxValueInfo) => !initializers.has(v.name)),
    outputs: (g.output ?? []).map(valueInfo),
  };
}

/** Decodes a serialized TensorProto (the conformance suite's input_*.pb / output_*.pb files). */
export function decodeTensorProto(bytes: Uint8Array, what = 'tensor'): OnnxTensor {
  let t: Msg;
  try {
    t = types().tensor.decode(bytes);
  } catch (e) {
    throw new FormatError(`${what}: not a valid TensorProto (${(e as Error).message})`);
  }
  return tensorValues(t, what);
}
