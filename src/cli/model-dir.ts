// The model directories `vireo eval` and `vireo predict` run: written by `vireo train` (format
// 'vireo-model', a layer tree) or by `vireo import` (format 'vireo-onnx', reloaded from its model.onnx
// with the directory's weights.safetensors, which may hold fine-tuned weights).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, StateDictError, type Tensor, importOnnx, readSafetensors, tensor } from '../index.js';
import { inferShapes } from '../graph/shapes.js';
import { settleDirectory } from '../io/directory.js';
import { checkMemory, insideDirectory, memoryLimit } from '../io/model-check.js';
import { loadModel, modelJson, weightsFile } from '../io/model-file.js';
import { readRegularFile } from '../io/read-file.js';
import type { Module } from '../nn/module.js';

/** What eval/predict need to know about a classifier, whichever command wrote its directory. */
export interface ClassifierMeta {
  format: 'vireo-model' | 'vireo-onnx';
  /** [C, H, W] of one input image. */
  inputShape: [number, number, number];
  classes: string[];
  /** Per-channel mean and std after ToTensor; null: ToTensor only. */
  normalization: { mean: number[]; std: number[] } | null;
  /** The dataset a `vireo train` model was trained on (eval's default --data). */
  trainedOn?: string;
  /** The batch size the model file fixes (an ONNX export without a dynamic batch), else null. */
  batch: number | null;
  /** The model ends with a softmax: its outputs are probabilities, not logits. */
  probabilities: boolean;
}

export interface Classifier {
  model: Module;
  meta: ClassifierMeta;
}

/** Loads `dir` (absolute) as a classifier; errors are FormatErrors naming the file. */
export async function loadClassifier(dir: string): Promise<Classifier> {
  // A save a killed process left half done is finished (or rolled back) before anything is read.
  await settleDirectory(dir);
  const path = join(dir, modelJson);
  // No model.json: loadModel's message (what to run to make one).
  if (!existsSync(path)) return fromTrained(await loadModel(dir));
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const format = raw && typeof raw === 'object' ? raw.format : undefined;
  if (format === 'vireo-model') return fromTrained(await loadModel(dir));
  if (format === 'vireo-onnx') return loadImported(dir, path, raw);
  throw new FormatError(
    `${path}: not a vireo model directory (format ${JSON.stringify(format)}; expected 'vireo-model', written by \`vireo train\`, or 'vireo-onnx', written by \`vireo import\`)`,
  );
}

function fromTrained({ model, meta }: Awaited<ReturnType<typeof loadModel>>): Classifier {
  const data = meta.training?.data;
  return {
    model,
    meta: {
      format: 'vireo-model',
      inputShape: meta.inputShape,
      classes: meta.classes,
      normalization: meta.normalization,
      ...(typeof data === 'string' ? { trainedOn: data } : {}),
      batch: null,
      probabilities: false,
    },
  };
}

function need(cond: unknown, path: string, what: string): asserts cond {
  if (!cond) throw new FormatError(`${path}: ${what}`);
}

const numbers = (v: unknown, n: number) =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));

async function loadImported(dir: string, path: string, raw: Record<string, unknown>): Promise<Classifier> {
  need(raw.version === 1, path, `version ${raw.version} is newer than this vireo reads (1); upgrade vireo`);
  const inputs = raw.inputs as { name: string; shape: (number | string | null)[] | null }[] | undefined;
  need(
    raw.inputShape !== undefined && Array.isArray(inputs) && inputs.length === 1,
    path,
    'no inputShape: the imported model is not an image classifier (vireo predict/eval need one [N, C, H, W] input and one [N, classes] output)',
  );
  const shape = raw.inputShape as [number, number, number];
  need(
    Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0),
    path,
    'inputShape must be [C, H, W]',
  );
  const classes = raw.classes as string[];
  need(
    Array.isArray(classes) && classes.length > 0 && classes.every((c) => typeof c === 'string'),
    path,
    'classes must be a non-empty list of names',
  );
  const norm = raw.normalization as { mean: number[]; std: number[] } | null | undefined;
  need(
    norm == null || (numbers(norm.mean, shape[0]) && numbers(norm.std, shape[0])),
    path,
    `normalization needs ${shape[0]} means and stds (or null)`,
  );
  const onnxPath = await insideDirectory(dir, raw.onnx ?? 'model.onnx', path, 'onnx');
  if (!existsSync(onnxPath))
    throw new FormatError(
      `${onnxPath}: missing; an imported model directory reloads from its ONNX file (re-run \`vireo import MODEL.onnx --out ${dir}\`)`,
    );
  const batchDim = inputs[0].shape?.[0];
  const batch = typeof batchDim === 'number' && batchDim > 0 ? batchDim : null;
  checkMemory(4 * (batch ?? 1) * shape[0] * shape[1] * shape[2], `${path}: an input of ${[batch ?? 1, ...shape].join('×')}`);
  let model: Awaited<ReturnType<typeof importOnnx>>;
  try {
    model = await importOnnx(await readRegularFile(onnxPath, memoryLimit()), {
      inputShapes: { [inputs[0].name]: [batch ?? 1, ...shape] },
    });
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${onnxPath}: ${e.message}`);
    throw e;
  }
  // What a plan of this graph holds (every value of a one-batch forward) and what it outputs, before one runs.
  const graph = model.buildGraph(model.declaredInputShapes, false);
  const shapes = inferShapes(graph, model.declaredInputShapes);
  let values = 0;
  for (const v of shapes) if (v) values += v.reduce((a, b) => a * b, 1);
  checkMemory(4 * values, `${onnxPath}: a plan for ${[batch ?? 1, ...shape].join('×')} input`);
  const out = shapes[graph.outputs[0]];
  if (out?.length !== 2 || out[1] !== classes.length)
    throw new FormatError(
      `${path}: ${classes.length} class names, but the model's output is ${out?.length === 2 ? `${out[1]} values per image` : `shaped [${out?.join(', ')}]`}; the class list must name every output`,
    );
  const wpath = await insideDirectory(dir, raw.weights ?? weightsFile, path, 'weights');
  if (!existsSync(wpath)) throw new FormatError(`${wpath}: missing; the model directory is incomplete (re-run \`vireo import\`)`);
  try {
    model.loadStateDict(readSafetensors(await readRegularFile(wpath, memoryLimit()), wpath));
  } catch (e) {
    if (e instanceof StateDictError) throw new StateDictError(`${wpath}: ${e.message}`);
    throw e;
  }
  model.eval();
  return {
    model,
    meta: {
      format: 'vireo-onnx',
      inputShape: shape,
      classes,
      normalization: norm ?? null,
      batch,
      probabilities: raw.scores === 'probabilities',
    },
  };
}

/**
 * The model's scores for a batch of any size: a model whose file fixes its batch size runs in chunks of
 * that size, the last one padded with zeros (the padding's scores are dropped).
 */
export async function forwardAnyBatch(model: Module, x: Tensor, batch: number | null): Promise<Tensor> {
  const n = x.shape[0];
  if (batch === null || n === batch) return model.forward(x);
  const per = x.size / n;
  const input = await x.data();
  const chunk = new Float32Array(batch * per);
  let out: Float32Array | null = null;
  let classes = 0;
  for (let at = 0; at < n; at += batch) {
    const m = Math.min(batch, n - at);
    chunk.fill(0);
    chunk.set(input.subarray(at * per, (at + m) * per));
    const y = await model.forward(tensor(chunk, [batch, ...x.shape.slice(1)]));
    const values = await y.data();
    classes = values.length / batch;
    out ??= new Float32Array(n * classes);
    out.set(values.subarray(0, m * classes), at * classes);
  }
  return tensor(out as Float32Array, [n, classes]);
}
