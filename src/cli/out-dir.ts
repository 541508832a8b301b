// The --out directory of `vireo train` and `vireo import`: checked before any work (a file there, a parent
// that cannot hold directories) and refused when it holds another model unless --force (or --resume of that
// very model) says to replace it. The directory is vireo's: it is rewritten as a whole on every save
// (src/io/directory.ts), so a directory holding anything else is refused even with --force.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../core/errors.js';
import { checkWritableDirectory, settleDirectory } from '../io/directory.js';
import { UsageError } from './args.js';

/** The files a vireo model directory may hold (trained: the first three; imported: the first two and model.onnx). */
export const modelDirFiles = ['model.json', 'weights.safetensors', 'checkpoint.safetensors', 'model.onnx'];

/** A short description of the model in `dir`, for messages ("a small-cnn trained 3 epochs …"). */
function describe(dir: string, files: string[]): string {
  let meta: Record<string, unknown> | null = null;
  try {
    if (files.includes('model.json')) meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  } catch {
    return 'an unreadable model.json';
  }
  if (meta?.format === 'vireo-onnx') return `an imported ONNX model (${String(meta.source ?? 'model.onnx')})`;
  if (meta?.format === 'vireo-model') {
    const t = (meta.training ?? {}) as { epochs?: unknown; last?: { valAccuracy?: unknown } };
    const acc = typeof t.last?.valAccuracy === 'number' ? `, validation accuracy ${t.last.valAccuracy.toFixed(3)}` : '';
    const epochs = typeof t.epochs === 'number' ? ` trained ${t.epochs} epoch${t.epochs === 1 ? '' : 's'}` : '';
    return `a trained model (${String(meta.name ?? 'vireo-model')}${epochs}${acc})`;
  }
  if (files.includes('checkpoint.safetensors')) return 'a training checkpoint';
  return `model files (${files.join(', ')})`;
}

export interface ClaimOptions {
  /** The option that named the directory, for messages ('--out'). */
  option: string;
  /** --force: replacing a model there is what the user wants. */
  force: boolean;
  /** The directory holds the run being resumed: writing there continues it. */
  resuming: boolean;
  /** The command to suggest for continuing the model that is there (train only). */
  resumeHint?: string;
}

/** Checks `dir` (absolute) before any work; throws a UsageError saying what is there and what to pass. */
export async function claimOutputDir(dir: string, o: ClaimOptions): Promise<void> {
  try {
    await checkWritableDirectory(dir, o.option);
  } catch (e) {
    if (e instanceof ArgumentError) throw new UsageError(e.message);
    throw e;
  }
  await settleDirectory(dir);
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  const foreign = entries.filter((f) => !modelDirFiles.includes(f));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, … (${foreign.length} in all)` : '');
    throw new UsageError(
      `${o.option} ${dir}: the directory holds files that are not a vireo model's (${shown}); vireo rewrites its output directory as a whole, so give a new or empty directory`,
    );
  }
  if (o.resuming || o.force) return;
  throw new UsageError(
    `${o.option} ${dir} already holds ${describe(dir, entries)}: pass --force to replace it${o.resumeHint ? `, or ${o.resumeHint}` : ''}, or choose another directory`,
  );
}
