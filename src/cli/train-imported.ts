// `vireo train --model DIR` on a directory written by `vireo import` (format 'vireo-onnx'): what the run
// takes from it (input size, normalization), which parameters train (--freeze-backbone, --train-from), and
// writing the fine-tuned model back as such a directory (model.onnx + model.json + weights.safetensors),
// so `vireo predict` / `vireo eval` run it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../index.js';
import type { Module } from '../nn/module.js';
import { OnnxModel } from '../io/onnx/model.js';
import { UsageError } from './args.js';

export interface ImportedDir {
  dir: string;
  raw: Record<string, unknown>;
  inputShape: [number, number, number];
  normalization: { mean: number[]; std: number[] } | null;
}

/** The directory's model.json when `vireo import` wrote it, else null (a `vireo train` directory or a name). */
export function peekImported(dir: string): ImportedDir | null {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) return null;
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    if (raw?.format !== 'vireo-onnx' || !Array.isArray(raw.inputShape)) return null;
    return { dir, raw, inputShape: raw.inputShape, normalization: raw.normalization ?? null };
  } catch {
    return null;
  }
}

/**
 * Freezes what should not train and returns the parameters that do. `trainFrom`: the first parameter (state-dict
 * order) whose name starts with it, and every one after, train. `freezeBackbone`: only the last layer with
 * parameters trains (for an imported graph, the last node that holds trainable parameters).
 */
export function chooseTrainable(model: Module, opts: { freezeBackbone?: boolean; trainFrom?: string | null }): string[] {
  const named = model.namedParameters().filter(([, p]) => !p.isBuffer);
  let train: Set<string>;
  if (opts.trainFrom) {
    const at = named.findIndex(([n]) => n.startsWith(opts.trainFrom as string));
    if (at < 0)
      throw new UsageError(
        `--train-from ${opts.trainFrom}: no parameter name starts with it (the model's: ${named
          .slice(0, 6)
          .map(([n]) => n)
          .join(', ')}, …)`,
      );
    train = new Set(named.slice(at).map(([n]) => n));
  } else if (opts.freezeBackbone) {
    train = new Set(lastLayer(model, named));
  } else return named.map(([n]) => n);
  for (const [n, p] of named) p.requiresGrad = train.has(n);
  return named.filter(([n]) => train.has(n)).map(([n]) => n);
}

function lastLayer(model: Module, named: [string, import('../core/parameter.js').Parameter][]): string[] {
  if (model instanceof OnnxModel) {
    const graph = model.buildGraph(model.declaredInputShapes, false);
    const nameOf = new Map(named.map(([n, p]) => [p, n]));
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const names = Object.values(graph.nodes[i].params)
        .map((p) => nameOf.get(p))
        .filter((n): n is string => n !== undefined);
      if (names.length) return names;
    }
    return [];
  }
  const last = named[named.length - 1]?.[0] ?? '';
  const prefix = last.slice(0, last.lastIndexOf('.') + 1);
  return named.map(([n]) => n).filter((n) => n.startsWith(prefix));
}

/**
 * The fine-tuned model as an imported-model directory's files (the source's ONNX file and metadata, the new
 * weights), for the command's atomic directory writer.
 */
export function importedEntries(
  source: ImportedDir,
  model: Module,
  classes: string[],
  training: Record<string, unknown>,
): { name: string; data: Uint8Array | string }[] {
  const onnx = typeof source.raw.onnx === 'string' ? source.raw.onnx : 'model.onnx';
  const weights = writeSafetensors(model.stateDict(), { format: 'pt', producer: 'vireo train' });
  const meta = { ...source.raw, classes, weights: 'weights.safetensors', onnx, training };
  return [
    { name: onnx, data: new Uint8Array(readFileSync(join(source.dir, onnx))) },
    { name: 'weights.safetensors', data: weights },
    { name: 'model.json', data: `${JSON.stringify(meta, null, 2)}\n` },
  ];
}
