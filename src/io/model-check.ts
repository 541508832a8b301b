// Checks a model file makes before anything is allocated for it: the layer tree's fields and depth, the
// parameter shapes it implies against the weights file's header, the memory its parameters and a plan's
// activations need against a stated limit, and the paths it names. A hostile or careless model.json then
// fails with a VireoError naming the file, the layer and the size, never with "Invalid typed array length",
// "memory access out of bounds" or a stack overflow.
import { FormatError, LimitError, StateDictError } from '../core/errors.js';
import { type Shape, shapeToString } from '../core/shape.js';
import { inferShapes } from '../graph/shapes.js';
import type { Module } from '../nn/module.js';

/** Default memory limit of a model (parameters + a plan's activations): 2 GiB, half of wasm32's 4 GiB. */
export const defaultMemoryLimit = 2 * 1024 ** 3;
/** Nesting deeper than this is refused before the recursive builders see it (real CNNs nest < 10 levels). */
export const maxDepth = 64;
/** Layers in one model file (real CNNs: a few hundred). */
export const maxLayers = 100_000;

/** The limit in bytes: VIREO_MEMORY_LIMIT (bytes, or with a K/M/G suffix, powers of 1024) or 2 GiB. */
export function memoryLimit(): number {
  const env = typeof process !== 'undefined' ? process.env?.VIREO_MEMORY_LIMIT : undefined;
  if (!env) return defaultMemoryLimit;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(env);
  if (!m) throw new LimitError(`VIREO_MEMORY_LIMIT=${env}: give bytes, or a size such as 512M or 4G`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * scale);
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

/** Throws a LimitError when `bytes` exceed the limit: `what` names the file and the part asking for it. */
export function checkMemory(bytes: number, what: string): void {
  const limit = memoryLimit();
  if (!(bytes <= limit))
    throw new LimitError(
      `${what} needs ${Number.isFinite(bytes) ? formatBytes(bytes) : 'an unbounded amount of memory'}, over the limit of ${formatBytes(limit)} (VIREO_MEMORY_LIMIT sets it)`,
    );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
const natInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const pairOf = (v: unknown, ok: (x: unknown) => boolean) => Array.isArray(v) && v.length === 2 && v.every(ok);

export interface SpecParams {
  /** State-dict name → shape, as the layer tree's modules would register them. */
  shapes: Map<string, number[]>;
  /** Parameters and buffers, in values. */
  count: number;
  /** The layer with the most values (named in messages): its path and type. */
  largest: { layer: string; type: string; count: number } | null;
}

/**
 * Walks a layer tree (depth- and size-limited) checking every layer's fields, and returns the parameter
 * shapes it implies. `where` prefixes messages ("DIR/model.json: architecture"); layers are named by path.
 */
export function specParams(spec: unknown, where: string): SpecParams {
  const shapes = new Map<string, number[]>();
  let layers = 0;
  let count = 0;
  let largest: SpecParams['largest'] = null;
  const perLayer = new Map<string, number>();
  const add = (prefix: string, name: string, shape: number[], type: string) => {
    shapes.set(prefix + name, shape);
    const n = shape.reduce((a, b) => a * b, 1);
    count += n;
    const layer = prefix.slice(0, -1) || '(root)';
    const total = (perLayer.get(layer) ?? 0) + n;
    perLayer.set(layer, total);
    if (!largest || total > largest.count) largest = { layer, type, count: total };
  };
  const walk = (s: unknown, path: string, prefix: string, depth: number): void => {
    const at = path ? `${where}.${path}` : where;
    const need = (cond: unknown, what: string) => {
      if (!cond) throw new FormatError(`${at}: ${what}`);
    };
    need(depth <= maxDepth, `layers nest more than ${maxDepth} deep`);
    need(++layers <= maxLayers, `more than ${maxLayers} layers`);
    need(isObject(s), 'a layer must be an object');
    const l = s as Record<string, unknown>;
    const type = l.type;
    const ints = (names: string[], ok: (v: unknown) => boolean, want: string) => {
      for (const n of names) need(ok(l[n]), `${type} ${n} must be ${want}, got ${JSON.stringify(l[n])}`);
    };
    const pairs = (names: string[], ok: (v: unknown) => boolean, want: string, optional = false) => {
      for (const n of names)
        if (!(optional && l[n] === undefined))
          need(pairOf(l[n], ok), `${type} ${n} must be [h, w] of ${want}, got ${JSON.stringify(l[n])}`);
    };
    const bool = (n: string) => need(l[n] === undefined || typeof l[n] === 'boolean', `${type} ${n} must be true or false`);
    switch (type) {
      case 'Sequential': {
        need(Array.isArray(l.layers), "Sequential needs 'layers'");
        for (const [i, child] of (l.layers as unknown[]).entries()) {
          const name = isObject(child) ? child.name : undefined;
          need(typeof name === 'string' && /^[\w-]+$/.test(name), `layers[${i}] needs a 'name' (letters, digits, _ or -)`);
          walk(child, path ? `${path}.${name}` : String(name), `${prefix}${name}.`, depth + 1);
        }
        return;
      }
      case 'Residual':
        walk(l.main, path ? `${path}.main` : 'main', `${prefix}main.`, depth + 1);
        if (l.shortcut !== undefined) walk(l.shortcut, path ? `${path}.shortcut` : 'shortcut', `${prefix}shortcut.`, depth + 1);
        return;
      case 'Conv2d': {
        ints(['inChannels', 'outChannels'], posInt, 'a positive integer');
        ints(['groups'], (v) => v === undefined || posInt(v), 'a positive integer');
        pairs(['kernelSize', 'stride', 'dilation'], posInt, 'positive integers');
        need(
          Array.isArray(l.padding) && (l.padding.length === 2 || l.padding.length === 4) && l.padding.every(natInt),
          'Conv2d padding must be [h, w] or [top, left, bottom, right] of integers ≥ 0',
        );
        bool('bias');
        const g = (l.groups as number | undefined) ?? 1;
        const [cin, cout] = [l.inChannels as number, l.outChannels as number];
        need(cin % g === 0 && cout % g === 0, `Conv2d groups (${g}) must divide inChannels (${cin}) and outChannels (${cout})`);
        const k = l.kernelSize as number[];
        add(prefix, 'weight', [cout, cin / g, k[0], k[1]], 'Conv2d');
        if (l.bias !== false) add(prefix, 'bias', [cout], 'Conv2d');
        return;
      }
      case 'Linear':
        ints(['inFeatures', 'outFeatures'], posInt, 'a positive integer');
        bool('bias');
        add(prefix, 'weight', [l.outFeatures as number, l.inFeatures as number], 'Linear');
        if (l.bias !== false) add(prefix, 'bias', [l.outFeatures as number], 'Linear');
        return;
      case 'BatchNorm2d': {
        ints(['numFeatures'], posInt, 'a positive integer');
        for (const n of ['eps', 'momentum'])
          need(
            l[n] === undefined || (typeof l[n] === 'number' && Number.isFinite(l[n]) && (l[n] as number) >= 0),
            `BatchNorm2d ${n} must be a number ≥ 0`,
          );
        const n = l.numFeatures as number;
        for (const p of ['weight', 'bias', 'running_mean', 'running_var']) add(prefix, p, [n], 'BatchNorm2d');
        add(prefix, 'num_batches_tracked', [], 'BatchNorm2d');
        return;
      }
      case 'MaxPool2d':
      case 'AvgPool2d':
        pairs(['kernelSize'], posInt, 'positive integers');
        pairs(['stride', 'dilation'], posInt, 'positive integers', true);
        pairs(['padding'], natInt, 'integers ≥ 0', true);
        bool('ceilMode');
        bool('countIncludePad');
        return;
      case 'AdaptiveAvgPool2d':
        pairs(['outputSize'], posInt, 'positive integers');
        return;
      case 'LeakyReLU':
        need(
          l.negativeSlope === undefined || (typeof l.negativeSlope === 'number' && Number.isFinite(l.negativeSlope)),
          'LeakyReLU negativeSlope must be a finite number',
        );
        return;
      case 'Flatten':
        for (const n of ['startDim', 'endDim'])
          need(
            l[n] === undefined || (Number.isSafeInteger(l[n]) && Math.abs(l[n] as number) <= 8),
            `Flatten ${n} must be a small integer`,
          );
        return;
      case 'Softmax':
        need(
          l.dim === undefined || (Number.isSafeInteger(l.dim) && Math.abs(l.dim as number) <= 8),
          'Softmax dim must be a small integer',
        );
        return;
      case 'Dropout':
        need(typeof l.p === 'number' && l.p >= 0 && l.p < 1, `Dropout p must be in [0, 1), got ${JSON.stringify(l.p)}`);
        return;
      case 'ReLU':
      case 'ReLU6':
      case 'Sigmoid':
      case 'Tanh':
        return;
      default:
        throw new FormatError(`${at}: unknown layer type ${JSON.stringify(type)}`);
    }
  };
  walk(spec, '', '', 0);
  return { shapes, count, largest };
}

/**
 * Compares the tensor shapes in a safetensors file's header with the ones the layer tree implies, before
 * the modules (and their parameters) are allocated. A header that does not parse is left to the reader,
 * whose message is more precise.
 */
export function checkWeightsHeader(bytes: Uint8Array, path: string, expected: SpecParams): void {
  if (bytes.length < 8) return;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8) return;
  let header: Record<string, { shape?: unknown }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    return;
  }
  if (!isObject(header)) return;
  for (const [name, shape] of expected.shapes) {
    const entry = header[name];
    if (!isObject(entry))
      throw new StateDictError(`${path}: no tensor '${name}', which the model's layer needs (shape ${shapeToString(shape)})`);
    const got = entry.shape;
    if (!Array.isArray(got) || got.length !== shape.length || got.some((d, i) => d !== shape[i]))
      throw new StateDictError(
        `${path}: tensor '${name}' has shape ${Array.isArray(got) ? `[${got.join(', ')}]` : JSON.stringify(got)}, the model's layer '${name.replace(/\.[^.]+$/, '')}' needs ${shapeToString(shape)}`,
      );
  }
}

/** What a plan of `model` for `inputShape` (one sample, [C, H, W]) needs: output shape and activation values. */
export function planNeeds(model: Module, inputShape: Shape, where: string): { output: Shape; activations: number } {
  const shapes = inferShapes(model.toGraph(), [[1, ...inputShape]]);
  let activations = 0;
  for (const s of shapes) if (s) activations += s.reduce((a, b) => a * b, 1);
  const output = shapes[model.toGraph().outputs[0]];
  if (!output) throw new FormatError(`${where}: the model has no output`);
  return { output, activations };
}

/**
 * Checks the memory a plan of `model` needs for `batch` samples against the limit: parameters (×4 when
 * training: gradients and two optimizer moments) and activations (×3 when training: gradients and saved
 * values). An estimate, not the backend's exact figure: it bounds what a hostile file can make vireo allocate.
 */
export function checkPlanMemory(
  model: Module,
  inputShape: Shape,
  batch: number,
  options: { training: boolean; what: string },
): { output: Shape } {
  const inputBytes = 4 * batch * inputShape.reduce((a, b) => a * b, 1);
  checkMemory(inputBytes, `${options.what}: an input batch of ${batch}×${inputShape.join('×')}`);
  const { output, activations } = planNeeds(model, inputShape, options.what);
  let params = 0;
  for (const [, p] of model.namedParameters()) params += p.shape.reduce((a, b) => a * b, 1);
  const f = options.training ? { p: 4, a: 3 } : { p: 1, a: 1 };
  checkMemory(
    4 * (f.p * params + f.a * batch * activations),
    `${options.what}: a ${options.training ? 'training' : 'inference'} plan for batches of ${batch} (${params.toLocaleString('en-US')} parameters, ${activations.toLocaleString('en-US')} activation values per image)`,
  );
  return { output };
}

/** `name` (from a model file) resolved inside `dir`; a path that leaves the directory is refused. */
export async function insideDirectory(dir: string, name: unknown, file: string, field: string): Promise<string> {
  const { realpathSync } = await import('node:fs');
  const { isAbsolute, relative, resolve, sep } = await import('node:path');
  if (typeof name !== 'string' || name.length === 0 || isAbsolute(name) || name.includes('\0'))
    throw new FormatError(`${file}: '${field}' must be a file name inside the model directory, got ${JSON.stringify(name)}`);
  const root = resolve(dir);
  const path = resolve(root, name);
  const leaves = (p: string, r: string) => {
    const rel = relative(r, p);
    return rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel);
  };
  if (leaves(path, root))
    throw new FormatError(
      `${file}: '${field}' ${JSON.stringify(name)} points outside the model directory; it must name a file inside it`,
    );
  try {
    if (leaves(realpathSync(path), realpathSync(root)))
      throw new FormatError(`${file}: '${field}' ${JSON.stringify(name)} is a link to a file outside the model directory`);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    // Missing: the caller's own check names it.
  }
  return path;
}
