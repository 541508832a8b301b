// Training checkpoints: one safetensors file holding the weights (`model.<state-dict name>`), the optimizer's
// per-parameter buffers (`optimizer.<param index>.<buffer>`) and, in its metadata, the optimizer
// hyperparameters and step counts, the LR schedule's state, the epoch reached, the data order's RNG state
// (the loader's seed and epoch: they fix shuffles and augmentation), the model's dropout generators
// (`Module.rngState()`: they fix the masks) and the metrics history. One file, replaced atomically (temp
// file, fsync, rename, fsync of the directory): a process killed while saving leaves the previous checkpoint,
// complete.
import { FormatError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { RngState } from '../nn/module.js';
import type { OptimizerStateDict } from '../train/optim/optimizer.js';
import { writeFileAtomic } from './atomic.js';
import { checkCheckpointMeta } from './checkpoint-schema.js';
import { readSafetensorsFile, writeSafetensors } from './safetensors.js';

export interface CheckpointRng {
  /** The DataLoader seed: with the epoch it determines the shuffle and every augmentation draw. */
  seed: number;
  /** The loader epoch the next batch comes from. */
  loaderEpoch: number;
  /** The seed the model was initialized from (manualSeed). */
  initSeed?: number;
  /**
   * Each Dropout layer's mask generator ({ seed, calls }, `model.rngState()`); restore it with
   * `model.loadRngState()`. Absent in checkpoints written before vireo saved it (and optional to write):
   * such a checkpoint still loads, and the model's Dropout layers then keep the state they were built with
   * (their seed from manualSeed, count 0), so masks restart from the first one and the resumed run is not
   * bit-identical to an uninterrupted one.
   */
  dropout?: RngState;
}

export interface Checkpoint {
  /** Completed epochs. */
  epoch: number;
  /** Batches already trained in epoch `epoch + 1` (0 at an epoch boundary; > 0 after an interrupt). */
  step: number;
  model: Record<string, Tensor>;
  optimizer: OptimizerStateDict | null;
  schedule: Record<string, unknown> | null;
  rng: CheckpointRng;
  history: Record<string, unknown>[];
  /** Whatever the trainer needs to rebuild the run (options, model and data description). */
  config: Record<string, unknown>;
}

const metaKey = 'vireo.checkpoint';

/** The checkpoint as safetensors bytes. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(c.model)) tensors.set(`model.${name}`, t);
  let optimizer: Record<string, unknown> | null = null;
  if (c.optimizer) {
    const steps: Record<string, number> = {};
    const buffers: Record<string, string[]> = {};
    for (const [index, entry] of Object.entries(c.optimizer.state)) {
      steps[index] = entry.step;
      buffers[index] = Object.keys(entry.buffers);
      for (const [name, values] of Object.entries(entry.buffers))
        tensors.set(`optimizer.${index}.${name}`, new Tensor(values, [values.length]));
    }
    optimizer = { paramGroups: c.optimizer.paramGroups, steps, buffers };
  }
  const meta = {
    version: 1,
    epoch: c.epoch,
    step: c.step,
    optimizer,
    schedule: c.schedule,
    rng: c.rng,
    history: c.history,
    config: c.config,
  };
  return writeSafetensors(tensors, { [metaKey]: JSON.stringify(meta), format: 'pt', producer: 'vireo' });
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = readSafetensorsFile(bytes, source);
  const raw = metadata[metaKey];
  if (raw === undefined)
    throw new FormatError(`${source}: a safetensors file but not a vireo checkpoint (no '${metaKey}' metadata)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new FormatError(`${source}: checkpoint metadata is not valid JSON (${(e as Error).message})`);
  }
  const meta = checkCheckpointMeta(parsed, source);
  const model: Record<string, Tensor> = {};
  for (const [name, t] of tensors) if (name.startsWith('model.')) model[name.slice(6)] = t;
  let optimizer: OptimizerStateDict | null = null;
  if (meta.optimizer) {
    const state: OptimizerStateDict['state'] = {};
    for (const [index, step] of Object.entries(meta.optimizer.steps)) {
      const buffers: Record<string, Float32Array> = {};
      for (const name of meta.optimizer.buffers[index] ?? []) {
        const t = tensors.get(`optimizer.${index}.${name}`);
        if (!t) throw new FormatError(`${source}: optimizer state '${name}' of parameter ${index} is missing`);
        buffers[name] = t.dataSync();
      }
      state[Number(index)] = { step, buffers };
    }
    optimizer = { state, paramGroups: meta.optimizer.paramGroups };
  }
  return {
    epoch: meta.epoch,
    step: meta.step ?? 0,
    model,
    optimizer,
    schedule: meta.schedule,
    rng: meta.rng,
    history: meta.history ?? [],
    config: meta.config ?? {},
  };
}

/** Writes the checkpoint to `path`, atomically. */
export async function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(c));
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const { existsSync, readFileSync } = await import('node:fs');
  if (!existsSync(path))
    throw new FormatError(`${path}: no checkpoint here (\`vireo train --out DIR\` writes DIR/checkpoint.safetensors)`);
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}
