// A model directory: model.json (architecture as a serializable layer tree, input shape, class names,
// normalization) + weights.safetensors (PyTorch state_dict names, so torch's load_state_dict(strict=True)
// takes them for the equivalent torch.nn module). Both files are replaced atomically.
import { ArgumentError, FormatError, ShapeError } from '../core/errors.js';
import { joinPath as join } from '../data/files.js';
import * as nn from '../nn/index.js';
import type { Module } from '../nn/module.js';
import { writeFileAtomic } from './atomic.js';
import { checkMemory, checkPlanMemory, checkWeightsHeader, insideDirectory, specParams } from './model-check.js';
import { readRegularFile } from './read-file.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

type Pair = [number, number];

/** One layer (or container) as plain JSON; names of children are the state-dict names. */
export type LayerSpec =
  | { type: 'Sequential'; layers: (LayerSpec & { name: string })[] }
  | { type: 'Residual'; main: LayerSpec; shortcut?: LayerSpec }
  | {
      type: 'Conv2d';
      inChannels: number;
      outChannels: number;
      kernelSize: Pair;
      stride: Pair;
      /** [h, w] (both sides) or [top, left, bottom, right]. */
      padding: Pair | [number, number, number, number];
      dilation: Pair;
      groups: number;
      bias: boolean;
    }
  | { type: 'Linear'; inFeatures: number; outFeatures: number; bias: boolean }
  | { type: 'BatchNorm2d'; numFeatures: number; eps: number; momentum: number }
  | { type: 'MaxPool2d'; kernelSize: Pair; stride: Pair; padding: Pair; dilation: Pair; ceilMode: boolean }
  | { type: 'AvgPool2d'; kernelSize: Pair; stride: Pair; padding: Pair; ceilMode: boolean; countIncludePad: boolean }
  | { type: 'AdaptiveAvgPool2d'; outputSize: Pair }
  | { type: 'ReLU' | 'ReLU6' | 'Sigmoid' | 'Tanh' }
  | { type: 'LeakyReLU'; negativeSlope: number }
  | { type: 'Flatten'; startDim: number; endDim: number }
  | { type: 'Dropout'; p: number }
  | { type: 'Softmax'; dim: number };

export interface ModelMeta {
  format: 'vireo-model';
  version: 1;
  /** Built-in architecture name ('small-cnn', 'cifar-net') or a free label. */
  name?: string;
  /** [C, H, W] of one input image. */
  inputShape: [number, number, number];
  classes: string[];
  /** Per-channel mean and std applied after scaling pixels to [0, 1] (torchvision's Normalize). */
  normalization: { mean: number[]; std: number[] };
  architecture: LayerSpec;
  /** The weights file, relative to the directory. */
  weights: string;
  /** Free-form provenance: dataset, epochs, final metrics. */
  training?: Record<string, unknown>;
}

const pair = (v: readonly number[]): Pair => [v[0], v[1]];

/** The module as a layer tree. Throws for layers that have no serialized form. */
export function moduleToSpec(m: Module): LayerSpec {
  if (m instanceof nn.Sequential)
    return { type: 'Sequential', layers: m.namedChildren().map(([name, c]) => ({ name, ...moduleToSpec(c) })) };
  if (m instanceof nn.Residual)
    return m.shortcut
      ? { type: 'Residual', main: moduleToSpec(m.main), shortcut: moduleToSpec(m.shortcut) }
      : { type: 'Residual', main: moduleToSpec(m.main) };
  if (m instanceof nn.Conv2d) {
    const a = m.attrs;
    const [t, l, b, r] = a.padding;
    return {
      type: 'Conv2d',
      inChannels: a.inChannels,
      outChannels: a.outChannels,
      kernelSize: pair(a.kernel),
      stride: pair(a.stride),
      padding: t === b && l === r ? [t, l] : [t, l, b, r],
      dilation: pair(a.dilation),
      groups: a.groups,
      bias: a.bias,
    };
  }
  if (m instanceof nn.Linear)
    return { type: 'Linear', inFeatures: m.attrs.inFeatures, outFeatures: m.attrs.outFeatures, bias: m.attrs.bias };
  if (m instanceof nn.BatchNorm2d)
    return { type: 'BatchNorm2d', numFeatures: m.numFeatures, eps: m.options.eps ?? 1e-5, momentum: m.options.momentum ?? 0.1 };
  if (m instanceof nn.MaxPool2d) {
    const a = m.attrs;
    return {
      type: 'MaxPool2d',
      kernelSize: pair(a.kernel),
      stride: pair(a.stride),
      padding: pair(a.padding),
      dilation: pair(a.dilation),
      ceilMode: a.ceilMode,
    };
  }
  if (m instanceof nn.AvgPool2d) {
    const a = m.attrs;
    return {
      type: 'AvgPool2d',
      kernelSize: pair(a.kernel),
      stride: pair(a.stride),
      padding: pair(a.padding),
      ceilMode: a.ceilMode,
      countIncludePad: a.countIncludePad,
    };
  }
  if (m instanceof nn.AdaptiveAvgPool2d) return { type: 'AdaptiveAvgPool2d', outputSize: pair(m.outputSize) };
  if (m instanceof nn.LeakyReLU) return { type: 'LeakyReLU', negativeSlope: (m as unknown as { alpha: number }).alpha };
  const plain = [
    ['ReLU', nn.ReLU],
    ['ReLU6', nn.ReLU6],
    ['Sigmoid', nn.Sigmoid],
    ['Tanh', nn.Tanh],
  ] as const;
  for (const [type, Layer] of plain) if (m instanceof Layer) return { type };
  if (m instanceof nn.Flatten) return { type: 'Flatten', startDim: m.startDim, endDim: m.endDim };
  if (m instanceof nn.Dropout) return { type: 'Dropout', p: m.p };
  if (m instanceof nn.Softmax) return { type: 'Softmax', dim: m.dim };
  throw new ArgumentError(
    `model file: layer ${m.constructor.name} has no serialized form (supported: Sequential, Residual, Conv2d, Linear, BatchNorm2d, pools, activations, Flatten, Dropout, Softmax)`,
  );
}

function need(cond: unknown, where: string, what: string): asserts cond {
  if (!cond) throw new FormatError(`${where}: ${what}`);
}

const isPair = (v: unknown): v is Pair => Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d));

/**
 * Builds the module a layer tree describes (fresh weights; load a state dict after). Errors are
 * FormatErrors naming `where` and the layer's path. Sizes are not bounded here: `specParams` and
 * `checkMemory` (src/io/model-check.ts) check a file's tree first, as `loadModel` does.
 */
export function moduleFromSpec(spec: LayerSpec, where = 'architecture'): Module {
  try {
    return buildLayer(spec, where);
  } catch (e) {
    // A layer constructor's own check (e.g. "Conv2d: outChannels must be a positive integer") gets its place.
    if ((e instanceof ArgumentError || e instanceof ShapeError) && !e.message.startsWith(where))
      throw new FormatError(`${where}: ${e.message}`);
    throw e;
  }
}

function buildLayer(spec: LayerSpec, where: string): Module {
  need(spec && typeof spec === 'object', where, 'a layer must be an object');
  const s = spec as LayerSpec & Record<string, unknown>;
  switch (s.type) {
    case 'Sequential': {
      need(Array.isArray(s.layers), where, "Sequential needs 'layers'");
      const children = new Map<string, Module>();
      for (const [i, child] of s.layers.entries()) {
        need(typeof child.name === 'string' && child.name.length > 0, `${where}.layers[${i}]`, "each layer needs a 'name'");
        need(!children.has(child.name), `${where}.layers[${i}]`, `duplicate layer name '${child.name}'`);
        children.set(child.name, moduleFromSpec(child, `${where}.${child.name}`));
      }
      return new nn.Sequential(children);
    }
    case 'Residual':
      return new nn.Residual(
        moduleFromSpec(s.main, `${where}.main`),
        s.shortcut ? moduleFromSpec(s.shortcut, `${where}.shortcut`) : undefined,
      );
    case 'Conv2d': {
      need(
        isPair(s.kernelSize) && isPair(s.stride) && isPair(s.dilation),
        where,
        'Conv2d needs kernelSize, stride and dilation as [h, w]',
      );
      const p = s.padding;
      need(
        Array.isArray(p) && (p.length === 2 || p.length === 4),
        where,
        'Conv2d padding must be [h, w] or [top, left, bottom, right]',
      );
      let padding: Pair | 'same' = [p[0], p[1]];
      if (p.length === 4 && (p[0] !== p[2] || p[1] !== p[3])) {
        // The only asymmetric padding nn.Conv2d makes is 'same' with an even kernel extent.
        const same = [s.dilation[0] * (s.kernelSize[0] - 1), s.dilation[1] * (s.kernelSize[1] - 1)];
        need(
          p[0] === same[0] >> 1 &&
            p[1] === same[1] >> 1 &&
            p[2] === same[0] - (same[0] >> 1) &&
            p[3] === same[1] - (same[1] >> 1),
          where,
          `asymmetric padding ${JSON.stringify(p)} is not supported`,
        );
        padding = 'same';
      }
      return new nn.Conv2d(s.inChannels, s.outChannels, s.kernelSize, {
        stride: s.stride,
        padding,
        dilation: s.dilation,
        groups: s.groups ?? 1,
        bias: s.bias ?? true,
      });
    }
    case 'Linear':
      return new nn.Linear(s.inFeatures, s.outFeatures, { bias: s.bias ?? true });
    case 'BatchNorm2d':
      return new nn.BatchNorm2d(s.numFeatures, { eps: s.eps, momentum: s.momentum });
    case 'MaxPool2d':
      return new nn.MaxPool2d(s.kernelSize, { stride: s.stride, padding: s.padding, dilation: s.dilation, ceilMode: s.ceilMode });
    case 'AvgPool2d':
      return new nn.AvgPool2d(s.kernelSize, {
        stride: s.stride,
        padding: s.padding,
        ceilMode: s.ceilMode,
        countIncludePad: s.countIncludePad,
      });
    case 'AdaptiveAvgPool2d':
      return new nn.AdaptiveAvgPool2d(s.outputSize);
    case 'ReLU':
      return new nn.ReLU();
    case 'ReLU6':
      return new nn.ReLU6();
    case 'Sigmoid':
      return new nn.Sigmoid();
    case 'Tanh':
      return new nn.Tanh();
    case 'LeakyReLU':
      return new nn.LeakyReLU(s.negativeSlope);
    case 'Flatten':
      return new nn.Flatten(s.startDim, s.endDim);
    case 'Dropout':
      return new nn.Dropout(s.p);
    case 'Softmax':
      return new nn.Softmax(s.dim);
    default:
      throw new FormatError(`${where}: unknown layer type ${JSON.stringify((s as { type?: unknown }).type)}`);
  }
}

export interface SaveModelOptions {
  name?: string;
  inputShape: [number, number, number];
  classes: string[];
  normalization: { mean: number[]; std: number[] };
  training?: Record<string, unknown>;
}

export const modelJson = 'model.json';
export const weightsFile = 'weights.safetensors';

/** A model directory's two files in memory: what a browser stores, downloads or uploads. */
export interface ModelFiles {
  meta: ModelMeta;
  /** model.json's text. */
  json: string;
  /** weights.safetensors' bytes. */
  weights: Uint8Array;
}

/**
 * model.json and weights.safetensors as bytes, without a file system (browsers, workers, IndexedDB,
 * downloads); the command writes them with its checkpoint as one directory (src/io/directory.ts).
 */
export function encodeModel(model: Module, options: SaveModelOptions): ModelFiles {
  const { inputShape, classes, normalization } = options;
  if (normalization.mean.length !== inputShape[0] || normalization.std.length !== inputShape[0])
    throw new ArgumentError(`saveModel: normalization needs ${inputShape[0]} means and stds (one per input channel)`);
  const meta: ModelMeta = {
    format: 'vireo-model',
    version: 1,
    ...(options.name ? { name: options.name } : {}),
    inputShape,
    classes,
    normalization,
    architecture: moduleToSpec(model),
    weights: weightsFile,
    ...(options.training ? { training: options.training } : {}),
  };
  const weights = writeSafetensors(model.stateDict(), { format: 'pt', producer: 'vireo' });
  return { meta, json: `${JSON.stringify(meta, null, 2)}\n`, weights };
}

/** The two files of `encodeModel` as a directory's entries, weights first (the order saveModel writes them). */
export function modelFileEntries(files: ModelFiles): { name: string; data: Uint8Array | string }[] {
  return [
    { name: weightsFile, data: files.weights },
    { name: modelJson, data: files.json },
  ];
}

/** Writes `dir`/model.json and `dir`/weights.safetensors (each atomically; weights first). */
export async function saveModel(dir: string, model: Module, options: SaveModelOptions): Promise<ModelMeta> {
  const { mkdirSync } = await import('node:fs');
  const files = encodeModel(model, options);
  mkdirSync(dir, { recursive: true });
  for (const f of modelFileEntries(files)) await writeFileAtomic(join(dir, f.name), f.data);
  return files.meta;
}

/** Parses and checks model.json's text; `source` names the file in errors. */
export function parseModelMeta(text: string, source = modelJson): ModelMeta {
  let meta: ModelMeta;
  try {
    meta = JSON.parse(text) as ModelMeta;
  } catch (e) {
    throw new FormatError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  need(meta && meta.format === 'vireo-model', source, `not a vireo model file (format ${JSON.stringify(meta?.format)})`);
  need(meta.version === 1, source, `version ${meta.version} is newer than this vireo reads (1); upgrade vireo`);
  need(
    Array.isArray(meta.inputShape) && meta.inputShape.length === 3 && meta.inputShape.every((d) => Number.isInteger(d) && d > 0),
    source,
    'inputShape must be [C, H, W]',
  );
  need(
    Array.isArray(meta.classes) && meta.classes.length > 0 && meta.classes.every((c) => typeof c === 'string'),
    source,
    'classes must be a non-empty list of names',
  );
  const c = meta.inputShape[0];
  need(
    meta.normalization?.mean?.length === c && meta.normalization?.std?.length === c,
    source,
    `normalization needs ${c} means and stds`,
  );
  return meta;
}

/** What a model's architecture needs in weights, checked against the memory limit before anything is allocated. */
function expectedWeights(meta: ModelMeta, file: string): ReturnType<typeof specParams> {
  const where = `${file}: architecture`;
  const expected = specParams(meta.architecture, where);
  const big = expected.largest;
  checkMemory(
    4 * expected.count,
    `${where}: ${expected.count.toLocaleString('en-US')} parameters${big ? ` (largest: layer '${big.layer}', ${big.type}, ${big.count.toLocaleString('en-US')})` : ''}`,
  );
  return expected;
}

/**
 * The module from checked metadata and weight bytes: the weights' header against the architecture, the
 * memory of a one-image plan, and the class count against the outputs, each before it is allocated.
 */
function buildChecked(
  meta: ModelMeta,
  bytes: Uint8Array,
  expected: ReturnType<typeof specParams>,
  file: string,
  wpath: string,
): { model: Module; meta: ModelMeta } {
  checkWeightsHeader(bytes, wpath, expected);
  const model = moduleFromSpec(meta.architecture, `${file}: architecture`);
  model.loadStateDict(readSafetensors(bytes, wpath));
  model.eval();
  const { output } = checkPlanMemory(model, meta.inputShape, 1, { training: false, what: file });
  const k = output.length === 2 ? output[1] : null;
  if (k !== meta.classes.length)
    throw new FormatError(
      `${file}: ${meta.classes.length} class names, but the model's output is ${k === null ? `shaped [${output.join(', ')}], not [N, classes]` : `${k} values per image`}; the class list must name every output`,
    );
  return { model, meta };
}

/**
 * A model from model.json's text and weights.safetensors' bytes (weights loaded, eval mode): loadModel
 * without a file system, with the same checks. `source` names the directory in errors.
 */
export function decodeModel(json: string, weights: Uint8Array, source = '.'): { model: Module; meta: ModelMeta } {
  const file = join(source, modelJson);
  const meta = parseModelMeta(json, file);
  const expected = expectedWeights(meta, file);
  return buildChecked(meta, weights, expected, file, join(source, meta.weights ?? weightsFile));
}

/** Reads and checks model.json (no weights). */
export async function readModelMeta(dir: string): Promise<ModelMeta> {
  const { existsSync, readFileSync } = await import('node:fs');
  const path = join(dir, modelJson);
  if (!existsSync(path))
    throw new FormatError(
      `${dir}: no ${modelJson} here; train one with \`vireo train --out ${dir}\` or point --model at a model directory`,
    );
  return parseModelMeta(readFileSync(path, 'utf8'), path);
}

/**
 * Loads a model directory: the module (weights loaded, eval mode) and its metadata. Everything is checked
 * before it is allocated (src/io/model-check.ts): the layer tree, the weights' shapes, the memory of the
 * parameters and of a one-image plan, the weights path (inside `dir`) and the class count (the outputs').
 */
export async function loadModel(dir: string): Promise<{ model: Module; meta: ModelMeta }> {
  const { existsSync } = await import('node:fs');
  const { settleDirectory } = await import('./directory.js');
  await settleDirectory(dir);
  const meta = await readModelMeta(dir);
  const file = join(dir, modelJson);
  const expected = expectedWeights(meta, file);
  const wpath = await insideDirectory(dir, meta.weights ?? weightsFile, file, 'weights');
  if (!existsSync(wpath)) throw new FormatError(`${wpath}: missing; the model directory is incomplete (re-run \`vireo train\`)`);
  const bytes = await readRegularFile(wpath, 4 * expected.count + (1 << 20) + 64 * expected.shapes.size);
  return buildChecked(meta, bytes, expected, file, wpath);
}
