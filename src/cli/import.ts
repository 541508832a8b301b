// `vireo import model.onnx --out DIR`: converts an ONNX model to a vireo model directory.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { FormatError, UnsupportedOpError, importOnnx, writeSafetensors } from '../index.js';
import { inferShapes } from '../graph/shapes.js';
import { type OnnxModelProto, decodeOnnx } from '../io/onnx/decode.js';
import { unsupportedNodes } from '../io/onnx/model.js';
import { writeDirectoryAtomic } from '../io/directory.js';
import { checkMemory } from '../io/model-check.js';
import { claimOutputDir } from './out-dir.js';
import { parseArgs } from 'node:util';
import { type Io, UsageError, joinNegativeValues } from './args.js';

export const importHelp = `usage: vireo import MODEL.onnx --out DIR [--classes A,B,… | --classes-file FILE]
                    [--mean M,… --std S,…] [--input-size H,W] [--force] [--json]

Converts an ONNX model (opsets 9-18) to a vireo model directory:
  DIR/model.json          format 'vireo-onnx': inputs, outputs, opset and the converted graph (node, op, parameters);
                          for an image classifier also its input size, class names and normalization
  DIR/weights.safetensors the parameters under their ONNX initializer names (state-dict style)
  DIR/model.onnx          the source graph, so the directory reloads with importOnnx
An image classifier (one [N, C, H, W] input, one [N, classes] output) then runs with
\`vireo predict FILE… --model DIR\` and \`vireo eval --model DIR --data …\`.
Unsupported ops are listed by op type and node name (exit status 1).

  --out DIR            where to write (created if missing; written as a whole, atomically); a directory
                       holding another model is refused unless --force
  --force              replace the model in --out
  --classes A,B,…      class names in output order (default: "0", "1", …)
  --classes-file FILE  class names, one per line
  --mean M,… --std S,… per-channel normalization after scaling pixels to [0, 1] (default: none)
  --input-size H,W     the image size, needed when the ONNX input's height and width are dynamic
  --json               print the result as JSON`;

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
  const outDir = resolve(values.out);
  await claimOutputDir(outDir, { option: '--out', force: Boolean(values.force), resuming: false });
  const bytes = new Uint8Array(readFileSync(file));
  let proto: OnnxModelProto;
  try {
    proto = decodeOnnx(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${file}: ${e.message}`);
    throw e;
  }
  // Every op without a converter at once, before the first one stops the import.
  const missing = unsupportedNodes(proto);
  if (missing.length > 0) return reportUnsupported(io, file, missing, values.json);
  const image = imageInput(file, proto, values);
  if (image)
    checkMemory(4 * image.shape.reduce((a, b) => a * b, 1), `${file}: input '${image.name}' of 1×${image.shape.join('×')}`);
  let model: Awaited<ReturnType<typeof importOnnx>>;
  try {
    model = await importOnnx(bytes, image ? { inputShapes: { [image.name]: [1, ...image.shape] } } : {});
  } catch (e) {
    if (e instanceof UnsupportedOpError) {
      return reportUnsupported(io, file, [{ opType: e.opType, node: e.nodeName, reason: e.message }], values.json);
    }
    if (e instanceof FormatError) throw new FormatError(`${file}: ${e.message}`);
    throw e;
  }
  const graph = model.buildGraph(model.declaredInputShapes, false);
  if (image) {
    // Every value of a one-image forward: what a plan of this model will hold, checked before one is built.
    let values = 0;
    for (const v of inferShapes(graph, model.declaredInputShapes)) if (v) values += v.reduce((a, b) => a * b, 1);
    checkMemory(4 * values, `${file}: a plan for 1×${image.shape.join('×')} input`);
  }
  const classifier = image && classifierMeta(file, model, graph, image, values);
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
    ...(classifier ?? {}),
  };
  // One atomic step: a failure or a kill leaves the directory as it was (never half a model, never the
  // previous model's checkpoint beside the import).
  await writeDirectoryAtomic(outDir, [
    { name: 'weights.safetensors', data: writeSafetensors(model.stateDict(), { format: 'pt', producer: 'vireo import' }) },
    { name: 'model.json', data: `${JSON.stringify(meta, null, 2)}\n` },
    { name: 'model.onnx', data: bytes },
  ]);
  const summary = {
    ok: true,
    out: values.out,
    nodes: graph.nodes.length,
    parameters: model.namedParameters().length,
    buffers: model.namedBuffers().length,
    inputs: meta.inputs,
    outputs: meta.outputs,
    ...(classifier ?? {}),
  };
  if (values.json) io.out(JSON.stringify(summary));
  else {
    io.out(
      `imported ${file} (opset ${meta.opset}, ${meta.producer || 'unknown producer'}): ${summary.nodes} vireo nodes, ${summary.parameters} parameters, ${summary.buffers} buffers`,
    );
    if (classifier) {
      const [c, h, w] = classifier.inputShape;
      const names =
        classifier.classes.length > 10 ? `${classifier.classes.slice(0, 10).join(', ')}, …` : classifier.classes.join(', ');
      const norm = classifier.normalization
        ? `normalized with mean ${classifier.normalization.mean.join(', ')}, std ${classifier.normalization.std.join(', ')}`
        : 'no normalization';
      io.out(`image classifier: ${c}×${h}×${w} input, ${norm}; ${classifier.classes.length} classes (${names})`);
    }
    io.out(`wrote ${join(values.out, 'model.json')}, weights.safetensors, model.onnx`);
  }
  return 0;
}

const importOptions = {
  out: { type: 'string' },
  classes: { type: 'string' },
  'classes-file': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  'input-size': { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const parseOptions = (args: string[]) =>
  parseArgs({ args: joinNegativeValues(args, importOptions), allowPositionals: true, strict: true, options: importOptions });

type Values = ReturnType<typeof parseOptions>['values'];

const imageOptions = ['classes', 'classes-file', 'mean', 'std', 'input-size'] as const;

function numberList(value: string, name: string, integers: boolean): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (value.trim() === '' || list.some((v) => !Number.isFinite(v) || (integers && (!Number.isInteger(v) || v < 1))))
    throw new UsageError(`--${name} must be a comma-separated list of ${integers ? 'integers ≥ 1' : 'numbers'}, got '${value}'`);
  return list;
}

/**
 * The image input of a classifier-shaped model (one [N, C, H, W] input), with H and W from the file or
 * --input-size; null for other models (imported for the API), unless image options ask for one.
 */
function imageInput(
  file: string,
  proto: OnnxModelProto,
  values: Values,
): { name: string; shape: [number, number, number] } | null {
  const inputs = proto.inputs.filter((i) => !proto.initializers.has(i.name));
  const asked = imageOptions.filter((o) => values[o] !== undefined);
  const dims = inputs.length === 1 ? inputs[0].dims : null;
  if (dims?.length !== 4 || proto.outputs.length !== 1) {
    if (asked.length === 0) return null;
    throw new UsageError(
      `--${asked[0]}: ${file} is not an image classifier (vireo predict/eval need one [N, C, H, W] input and one output; it has inputs ${inputs.map((i) => `'${i.name}' [${(i.dims ?? []).map((d) => d ?? '?').join(', ')}]`).join(', ')})`,
    );
  }
  const { name } = inputs[0];
  const shown = `[${dims.map((d) => d ?? '?').join(', ')}]`;
  const c = dims[1];
  if (typeof c !== 'number' || c < 1)
    throw new UsageError(`input '${name}' of ${file} has shape ${shown}: its channel count must be fixed`);
  const fixed = (d: unknown): d is number => typeof d === 'number' && d > 0;
  let hw: number[];
  if (values['input-size'] !== undefined) {
    hw = numberList(values['input-size'], 'input-size', true);
    if (hw.length === 1) hw = [hw[0], hw[0]];
    if (hw.length !== 2) throw new UsageError(`--input-size must be H,W (or one size for both), got '${values['input-size']}'`);
    for (const k of [0, 1]) {
      const d = dims[2 + k];
      if (fixed(d) && d !== hw[k])
        throw new UsageError(`--input-size ${hw.join(',')}: input '${name}' of ${file} has the fixed shape ${shown}`);
    }
  } else {
    const [h, w] = [dims[2], dims[3]];
    if (!fixed(h) || !fixed(w))
      throw new UsageError(
        `input '${name}' of ${file} has a dynamic height or width (shape ${shown}): pass --input-size H,W (the size its images are resized to)`,
      );
    hw = [h, w];
  }
  return { name, shape: [c, hw[0], hw[1]] };
}

/** Input size, class names, normalization and score kind, stored in model.json for predict/eval. */
function classifierMeta(
  file: string,
  model: Awaited<ReturnType<typeof importOnnx>>,
  graph: ReturnType<Awaited<ReturnType<typeof importOnnx>>['buildGraph']>,
  image: { name: string; shape: [number, number, number] },
  values: Values,
) {
  const out = inferShapes(graph, model.declaredInputShapes)[graph.outputs[0]];
  const asked = imageOptions.filter((o) => values[o] !== undefined && o !== 'input-size');
  if (out.length !== 2) {
    if (asked.length === 0) return null;
    throw new UsageError(
      `--${asked[0]}: output '${model.outputNames[0]}' of ${file} has shape [${out.join(', ')}], not [N, classes]: not an image classifier`,
    );
  }
  const k = out[1];
  if (values.classes !== undefined && values['classes-file'] !== undefined)
    throw new UsageError('give --classes or --classes-file, not both');
  let classes = Array.from({ length: k }, (_, i) => String(i));
  let from = '';
  if (values.classes !== undefined) {
    classes = values.classes.split(',').map((c) => c.trim());
    from = '--classes';
  } else if (values['classes-file'] !== undefined) {
    const path = values['classes-file'];
    if (!existsSync(path)) throw new UsageError(`--classes-file ${path}: no such file`);
    classes = readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    from = `--classes-file ${path}`;
  }
  if (from && classes.some((c) => c.length === 0)) throw new UsageError(`${from}: a class name is empty`);
  if (from && classes.length !== k)
    throw new UsageError(`${from} names ${classes.length} classes, the model's output '${model.outputNames[0]}' has ${k}`);
  const c = image.shape[0];
  let normalization: { mean: number[]; std: number[] } | null = null;
  if ((values.mean === undefined) !== (values.std === undefined)) throw new UsageError('give both --mean and --std, or neither');
  if (values.mean !== undefined && values.std !== undefined) {
    const mean = numberList(values.mean, 'mean', false);
    const std = numberList(values.std, 'std', false);
    for (const [name, list] of [
      ['mean', mean],
      ['std', std],
    ] as const)
      if (list.length !== c) throw new UsageError(`--${name} needs ${c} values (one per input channel), got ${list.length}`);
    if (std.some((s) => s <= 0)) throw new UsageError('--std values must be > 0');
    normalization = { mean, std };
  }
  const last = model.proto.nodes.find((n) => n.outputs.includes(model.outputNames[0]));
  return {
    inputShape: image.shape,
    classes,
    normalization,
    scores: last?.opType === 'Softmax' ? ('probabilities' as const) : ('logits' as const),
  };
}

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
