// The schema of a checkpoint's `vireo.checkpoint` metadata, checked field by field before anything is
// restored from it: an edited or corrupt checkpoint ("epoch": "one", a negative epoch, a group without
// params) fails naming the field instead of resuming into nonsense.
import { FormatError } from '../core/errors.js';

/** Metadata as stored (checked): see encodeCheckpoint. */
export interface CheckpointMetaJson {
  version: 1;
  epoch: number;
  step: number;
  optimizer: {
    paramGroups: Record<string, unknown>[];
    steps: Record<string, number>;
    buffers: Record<string, string[]>;
  } | null;
  schedule: Record<string, unknown> | null;
  rng: { seed: number; loaderEpoch: number; initSeed?: number; dropout?: Record<string, { seed: number; calls: number }> };
  history: Record<string, unknown>[];
  config: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isIndexKey = (k: string) => /^(0|[1-9]\d{0,8})$/.test(k);
/** Hyperparameters and schedule values: finite numbers, booleans, null, or lists of finite numbers. */
const isPlainValue = (v: unknown): boolean =>
  v === null ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)));

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Checks parsed checkpoint metadata; throws a FormatError naming `source` and the first bad field. */
export function checkCheckpointMeta(meta: unknown, source: string): CheckpointMetaJson {
  const fail = (field: string, want: string, got: unknown): never => {
    throw new FormatError(`${source}: checkpoint field '${field}' must be ${want}, got ${show(got)}`);
  };
  if (!isObject(meta)) return fail('vireo.checkpoint', 'an object', meta);
  if (meta.version !== 1)
    throw new FormatError(`${source}: checkpoint version ${show(meta.version)}; this vireo reads version 1`);
  if (!isCount(meta.epoch)) fail('epoch', 'an integer ≥ 0 (epochs completed)', meta.epoch);
  if (meta.step !== undefined && !isCount(meta.step)) fail('step', 'an integer ≥ 0 (steps into the next epoch)', meta.step);

  const opt = meta.optimizer;
  if (opt !== null && opt !== undefined) {
    if (!isObject(opt)) fail('optimizer', 'an object or null', opt);
    const o = opt as Record<string, unknown>;
    if (!Array.isArray(o.paramGroups) || o.paramGroups.length === 0)
      fail('optimizer.paramGroups', 'a non-empty list', o.paramGroups);
    for (const [i, g] of (o.paramGroups as unknown[]).entries()) {
      if (!isObject(g)) fail(`optimizer.paramGroups[${i}]`, 'an object', g);
      const group = g as Record<string, unknown>;
      if (!Array.isArray(group.params) || !group.params.every(isCount))
        fail(`optimizer.paramGroups[${i}].params`, 'a list of parameter indices', group.params);
      for (const [k, v] of Object.entries(group))
        if (k !== 'params' && !isPlainValue(v)) fail(`optimizer.paramGroups[${i}].${k}`, 'a finite number, boolean or null', v);
    }
    if (!isObject(o.steps)) fail('optimizer.steps', 'an object of step counts per parameter index', o.steps);
    for (const [k, v] of Object.entries(o.steps as object)) {
      if (!isIndexKey(k)) fail(`optimizer.steps`, 'keyed by parameter index', k);
      if (!isCount(v)) fail(`optimizer.steps.${k}`, 'an integer ≥ 0', v);
    }
    if (!isObject(o.buffers)) fail('optimizer.buffers', 'an object of buffer names per parameter index', o.buffers);
    for (const [k, v] of Object.entries(o.buffers as object)) {
      if (!(k in (o.steps as object))) fail(`optimizer.buffers.${k}`, 'listed in optimizer.steps too', v);
      if (!Array.isArray(v) || !v.every((n) => typeof n === 'string' && /^[A-Za-z_][\w]*$/.test(n)))
        fail(`optimizer.buffers.${k}`, 'a list of buffer names', v);
    }
  }

  const sched = meta.schedule;
  if (sched !== null && sched !== undefined) {
    if (!isObject(sched)) fail('schedule', 'an object or null', sched);
    const s = sched as Record<string, unknown>;
    if (s.lastEpoch !== undefined && !(Number.isSafeInteger(s.lastEpoch) && (s.lastEpoch as number) >= -1))
      fail('schedule.lastEpoch', 'an integer ≥ -1', s.lastEpoch);
    for (const k of ['lastLr', 'baseLrs'])
      if (s[k] !== undefined && !(Array.isArray(s[k]) && (s[k] as unknown[]).length > 0 && isPlainValue(s[k])))
        fail(`schedule.${k}`, 'a non-empty list of finite numbers', s[k]);
    for (const [k, v] of Object.entries(s))
      if (!isPlainValue(v)) fail(`schedule.${k}`, 'a finite number, boolean, null or list of numbers', v);
  }

  if (!isObject(meta.rng)) fail('rng', 'an object', meta.rng);
  const rng = meta.rng as Record<string, unknown>;
  if (!isCount(rng.seed)) fail('rng.seed', 'an integer ≥ 0', rng.seed);
  if (!isCount(rng.loaderEpoch)) fail('rng.loaderEpoch', 'an integer ≥ 0', rng.loaderEpoch);
  if (rng.initSeed !== undefined && !isCount(rng.initSeed)) fail('rng.initSeed', 'an integer ≥ 0', rng.initSeed);
  if (rng.dropout !== undefined) {
    if (!isObject(rng.dropout)) fail('rng.dropout', 'an object of { seed, calls } per layer', rng.dropout);
    for (const [k, g] of Object.entries(rng.dropout as object))
      if (!isObject(g) || !isCount(g.seed) || !isCount(g.calls)) fail(`rng.dropout.${k}`, '{ seed, calls } integers ≥ 0', g);
  }

  if (meta.history !== undefined && !(Array.isArray(meta.history) && meta.history.every(isObject)))
    fail('history', 'a list of objects (one per epoch)', meta.history);
  if (meta.config !== undefined && !isObject(meta.config)) fail('config', 'an object', meta.config);
  return meta as unknown as CheckpointMetaJson;
}
