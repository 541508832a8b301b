import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeOnnx, decodeTensorProto, type OnnxTensor } from '../../src/io/onnx/decode.js';

/** Debian's libonnx-testdata: ONNX's backend node tests and the PyTorch-converted ones. */
export const onnxTestRoot = '/usr/share/libonnx-testdata/data';

/** The ops issue 5 asks for; a suite test belongs to the first of these its model uses. */
export const supportedOps = [
  'Conv',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Relu',
  'LeakyRelu',
  'Clip',
  'Sigmoid',
  'Tanh',
  'HardSwish',
  'BatchNormalization',
  'Flatten',
  'Reshape',
  'Transpose',
  'Concat',
  'Softmax',
  'Dropout',
  'Identity',
  'Pad',
  'ConvTranspose',
  // Issue 12: the ops MobileNetV3, MNASNet, ShuffleNetV2 and ConvNeXt pull in.
  'HardSigmoid',
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'Slice',
  'Split',
  'LayerNormalization',
  'Erf',
  'Sqrt',
  'Pow',
  'Exp',
  'Log',
  'Neg',
  'Reciprocal',
  'Abs',
  'Expand',
  'Max',
  'Min',
  'Sum',
  'Mean',
  // Issue 12, second round.
  'PRelu',
  'Elu',
  'Selu',
  'Softplus',
  'Mish',
  'Where',
  'Gather',
];

const plumbing = new Set(['Constant', 'Shape', 'Unsqueeze', 'Squeeze', 'Cast']);

export interface SuiteCase {
  name: string;
  dir: string;
  /** The supported op this case tests ('(undecodable)', '(expanded function)': none of them). */
  op: string;
  bytes: Uint8Array;
  sets: { inputs: OnnxTensor[]; outputs: OnnxTensor[] }[];
  /** Why the model or its test data could not be read (sequence/optional inputs): a known failure or an error. */
  unreadable?: string;
}

const readTensors = (dir: string, prefix: string): OnnxTensor[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)))
    .map((f) => decodeTensorProto(readFileSync(join(dir, f)), f));

/** Suite cases whose model uses one of the supported ops (as the op under test). */
export function suiteCases(): SuiteCase[] {
  const cases: SuiteCase[] = [];
  for (const sub of ['node', 'pytorch-converted']) {
    const root = join(onnxTestRoot, sub);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      const file = join(dir, 'model.onnx');
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      let opTypes: string[];
      try {
        opTypes = decodeOnnx(bytes).nodes.map((n) => n.opType);
      } catch (e) {
        // A model vireo's decoder cannot read is a finding, not a case to drop: it must be listed as known.
        cases.push({ name: `${sub}/${name}`, dir, op: '(undecodable)', bytes, sets: [], unreadable: (e as Error).message });
        continue;
      }
      const main = opTypes.filter((t) => !plumbing.has(t));
      const allSupported = main.every((t) => supportedOps.includes(t));
      let op = main.length === 0 ? undefined : (supportedOps.find((s) => main[0] === s) ?? (allSupported ? main[0] : undefined));
      if (!op) continue;
      // An expanded function (a loss or window function written out in primitive ops) tests that function,
      // not the supported op it happens to start with: it runs, but apart from the claimed ops.
      if (name.endsWith('_expanded') && !allSupported) op = '(expanded function)';
      try {
        const sets = readdirSync(dir)
          .filter((d) => d.startsWith('test_data_set_'))
          .sort()
          .map((d) => ({ inputs: readTensors(join(dir, d), 'input_'), outputs: readTensors(join(dir, d), 'output_') }));
        cases.push({ name: `${sub}/${name}`, dir, op, bytes, sets });
      } catch (e) {
        cases.push({ name: `${sub}/${name}`, dir, op, bytes, sets: [], unreadable: (e as Error).message });
      }
    }
  }
  return cases;
}

/** ONNX backend test tolerance (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
export function allClose(actual: Float32Array, expected: ArrayLike<number>, rtol = 1e-3, atol = 1e-7): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} vs ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return `index ${i}: ${a} vs expected ${e}`;
  }
  return null;
}
