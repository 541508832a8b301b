// `vireo import model.onnx --out DIR`: converts an ONNX model to a vireo model directory.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FormatError, UnsupportedOpError, importOnnx, writeSafetensors } from '../index.js';
import { decodeOnnx } from '../io/onnx/decode.js';
import { unsupportedNodes } from '../io/onnx/model.js';
import { parseArgs } from 'node:util';
import { type Io, UsageError } from './args.js';

export const importHelp = `usage: vireo import MODEL.onnx --out DIR [--json]

Converts an ONNX model (opsets 9-18) to a vireo model directory:
  DIR/model.json          format 'vireo-onnx': inputs, outputs, opset and the converted graph (node, op, parameters)
  DIR/weights.safetensors the parameters under their ONNX initializer names (state-dict style)
  DIR/model.onnx          the source graph, so the directory reloads with importOnnx
Unsupported ops are listed by op type and node name (exit status 1).

  --out DIR   where to write (created if missing)
  --json      print the result as JSON`;

export async function importCommand(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(importHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one .onnx file');
  if (!values.out) throw new UsageError('--out DIR is required');
  const file = positionals[0];
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  const bytes = new Uint8Array(readFileSync(file));
  // Every op without a converter at once, before the first one stops the import.
  const missing = unsupportedNodes(decodeOnnx(bytes));
  if (missing.length > 0) return reportUnsupported(io, file, missing, values.json);
  let model: Awaited<ReturnType<typeof importOnnx>>;
  try {
    model = await importOnnx(bytes);
  } catch (e) {
    if (e instanceof UnsupportedOpError) {
      return reportUnsupported(io, file, [{ opType: e.opType, node: e.nodeName, reason: e.message }], values.json);
    }
    if (e instanceof FormatError) throw new FormatError(`${file}: ${e.message}`);
    throw e;
  }
  const graph = model.buildGraph(model.declaredInputShapes, false);
  const meta = {
    format: 'vireo-onnx',
    version: 1,
    source: basename(file),
    opset: model.proto.opset,
    producer: model.proto.producer,
    inputs: model.inputNames.map((name, i) => ({ name, shape: model.proto.inputs[i].dims })),
    outputs: model.outputNames.map((name, i) => ({ name, shape: model.proto.outputs[i].dims })),
    graph: graph.nodes.map((n) => ({
      name: n.name,
      op: n.op,
      attrs: n.attrs,
      params: Object.fromEntries(Object.entries(n.params).map(([k, p]) => [k, nameOf(model, p)])),
    })),
    weights: 'weights.safetensors',
    onnx: 'model.onnx',
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(
    join(values.out, 'weights.safetensors'),
    writeSafetensors(model.stateDict(), { format: 'pt', producer: 'vireo import' }),
  );
  writeFileSync(join(values.out, 'model.json'), `${JSON.stringify(meta, null, 2)}\n`);
  copyFileSync(file, join(values.out, 'model.onnx'));
  const summary = {
    ok: true,
    out: values.out,
    nodes: graph.nodes.length,
    parameters: model.namedParameters().length,
    buffers: model.namedBuffers().length,
    inputs: meta.inputs,
    outputs: meta.outputs,
  };
  if (values.json) io.out(JSON.stringify(summary));
  else {
    io.out(
      `imported ${file} (opset ${meta.opset}, ${meta.producer || 'unknown producer'}): ${summary.nodes} vireo nodes, ${summary.parameters} parameters, ${summary.buffers} buffers`,
    );
    io.out(`wrote ${join(values.out, 'model.json')}, weights.safetensors, model.onnx`);
  }
  return 0;
}

const parseOptions = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });

function nameOf(model: Awaited<ReturnType<typeof importOnnx>>, p: unknown): string | null {
  for (const [name, q] of model.initializerParameters()) if (q === p) return name;
  return null;
}

function reportUnsupported(
  io: Io,
  file: string,
  nodes: { opType: string; node: string; reason: string }[],
  json?: boolean,
): number {
  if (json) io.out(JSON.stringify({ ok: false, file, unsupported: nodes }));
  else {
    io.err(`vireo import: ${file} uses ${nodes.length} node(s) vireo cannot import:`);
    for (const n of nodes) io.err(`  ${n.opType.padEnd(20)} node '${n.node}': ${n.reason}`);
    io.err(
      'Supported: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul, Add, Sub, Mul, Div, Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSwish, BatchNormalization, Flatten, Reshape, Transpose, Concat, Softmax, Dropout, Identity, Pad (+ Shape/Gather/Unsqueeze/Squeeze/Slice/Cast/Constant folded).',
    );
  }
  return 1;
}
