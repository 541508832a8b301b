import type { Backend } from '../backends/backend.js';
import { isNode } from '../core/platform.js';
import type { CopyCost } from './calibrate.js';
import { removeOrphans, writeFileAtomic } from '../io/atomic.js';

/**
 * Calibration results kept across processes, per device fingerprint: a JSON file under the user's cache
 * directory in Node ($XDG_CACHE_HOME/vireo/calibration.json, else ~/.cache/vireo/), IndexedDB in browsers.
 * VIREO_CALIBRATION_CACHE=off disables it (=PATH moves the file). A corrupt file is ignored with a note and
 * rewritten on the next save.
 */

/**
 * Bumped when what a cached number means changes (timing method, key format). 3: host kernels are timed in
 * context, from profiled runs of the whole plan (calibrate-plan.ts), not each alone; a host update is a
 * latency per tensor plus a cost per float. 4: a host's times measured inside training steps go under training
 * keys (trainingKey); before, they replaced the forward plan's times under the same keys.
 */
export const ENGINE_VERSION = 'vireo-0.1.0/calibration-4';

export interface Calibration {
  /** nodeKey → ms on this fingerprint's backend. */
  kernels: Record<string, number>;
  /** 'host→wasm'-style pair → copy cost. */
  copies: Record<string, CopyCost>;
  /** ms per parameter of an SGD step with momentum (training plans count each layer's update). */
  updateMsPerFloat?: number;
  /** ms per parameter tensor of that step (the fixed cost of one update call); absent on a GPU: 0. */
  updateLatencyMs?: number;
  /** Kernels whose time was screened at batch 1 and scaled by the batch (a GPU ruled out: calibrate-async.ts). */
  extrapolated?: string[];
}

export interface CalibrationStore {
  load(fingerprint: string): Promise<Calibration | null>;
  save(fingerprint: string, data: Calibration): Promise<void>;
  clear(): Promise<void>;
  /** Where it keeps data, in words ('off', a file path, 'IndexedDB', 'memory'). */
  readonly where: string;
  /** Things worth telling the user (a corrupt file that was ignored). */
  readonly notes: string[];
}

/**
 * What a backend's calibration depends on: engine version, backend, build, features, the wasm thread count
 * (a split layer's time depends on it) and, for WebGPU, the adapter (vendor, architecture, device,
 * description): another GPU, or SwiftShader instead of a GPU, is another device.
 */
export function fingerprint(backend: Backend): string {
  const info = backend.info();
  const a = info.adapter;
  return [
    ENGINE_VERSION,
    info.name,
    info.build ?? '',
    JSON.stringify(info.features ?? {}),
    info.threads === undefined ? '' : `threads=${info.threads}`,
    a ? `adapter=${[a.vendor, a.architecture, a.device, a.description].join('/')}` : '',
  ].join('|');
}

type Env = Record<string, string | undefined>;

function env(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}

/** The store this runtime uses (the setting is read each time, so tests and users can change it). */
export async function calibrationStore(): Promise<CalibrationStore> {
  const setting = env().VIREO_CALIBRATION_CACHE;
  if (setting === 'off' || setting === '0') return memoryStore('off');
  if (isNode) return fileStore(setting && setting !== '1' && setting !== 'on' ? setting : await defaultPath());
  if (typeof (globalThis as { indexedDB?: unknown }).indexedDB !== 'undefined') return indexedDbStore();
  return memoryStore('memory');
}

async function defaultPath(): Promise<string> {
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  const base = env().XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'vireo', 'calibration.json');
}

const memory = new Map<string, Calibration>();

function memoryStore(where: string): CalibrationStore {
  return {
    where,
    notes: [],
    async load(fp) {
      return where === 'off' ? null : (memory.get(fp) ?? null);
    },
    async save(fp, data) {
      if (where !== 'off') memory.set(fp, data);
    },
    async clear() {
      memory.clear();
    },
  };
}

function isCalibration(x: unknown): x is Calibration {
  if (!x || typeof x !== 'object') return false;
  const c = x as Calibration;
  return (
    typeof c.kernels === 'object' &&
    c.kernels !== null &&
    Object.values(c.kernels).every((v) => typeof v === 'number' && v >= 0) &&
    typeof c.copies === 'object' &&
    c.copies !== null &&
    Object.values(c.copies).every((v) => typeof v?.latencyMs === 'number' && typeof v?.msPerByte === 'number') &&
    (c.updateMsPerFloat === undefined || typeof c.updateMsPerFloat === 'number') &&
    (c.updateLatencyMs === undefined || typeof c.updateLatencyMs === 'number') &&
    (c.extrapolated === undefined || (Array.isArray(c.extrapolated) && c.extrapolated.every((k) => typeof k === 'string')))
  );
}

const saving = new Map<string, Promise<void>>();

function fileStore(path: string): CalibrationStore {
  const notes: string[] = [];
  const readAll = async (): Promise<Record<string, Calibration>> => {
    const fs = await import('node:fs/promises');
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch {
      return {};
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown; devices?: Record<string, unknown> };
      const out: Record<string, Calibration> = {};
      for (const [fp, c] of Object.entries(parsed.devices ?? {})) if (isCalibration(c)) out[fp] = c;
      if (!parsed.devices || typeof parsed.devices !== 'object') throw new Error('no devices');
      return out;
    } catch {
      notes.push(`calibration cache ${path} is not a valid cache file: ignored, it will be rewritten`);
      return {};
    }
  };
  return {
    where: path,
    notes,
    async load(fp) {
      return (await readAll())[fp] ?? null;
    },
    save(fp, data) {
      // Saves in this process go one at a time (calibrations of several shapes may finish together): each
      // reads what the one before wrote, and none renames another's file away.
      const write = async () => {
        const fs = await import('node:fs/promises');
        const { dirname } = await import('node:path');
        const all = await readAll();
        all[fp] = data;
        await fs.mkdir(dirname(path), { recursive: true });
        // Written to a sibling and renamed: a reader never sees half a file, and a writer killed half-way
        // leaves only a temporary file the next write removes.
        await writeFileAtomic(path, `${JSON.stringify({ version: 1, devices: all })}\n`);
      };
      const next = (saving.get(path) ?? Promise.resolve()).then(write, write);
      saving.set(
        path,
        next.catch(() => {}),
      );
      return next;
    },
    async clear() {
      const fs = await import('node:fs/promises');
      await fs.rm(path, { force: true });
      await removeOrphans(path);
    },
  };
}

function indexedDbStore(): CalibrationStore {
  const notes: string[] = [];
  const idb = (globalThis as unknown as { indexedDB: IDBFactory }).indexedDB;
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const req = idb.open('vireo-calibration', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('devices');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  const run = async <T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const req = fn(db.transaction('devices', mode).objectStore('devices'));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  };
  return {
    where: 'IndexedDB',
    notes,
    async load(fp) {
      try {
        const v = await run('readonly', (s) => s.get(fp));
        if (v === undefined) return null;
        if (isCalibration(v)) return v;
        notes.push('calibration cache entry is not valid: ignored, it will be rewritten');
        return null;
      } catch {
        return null;
      }
    },
    async save(fp, data) {
      try {
        await run('readwrite', (s) => s.put(data, fp));
      } catch {
        notes.push(
          'calibration cache: IndexedDB refused the write (storage full or blocked); calibration will run again next time',
        );
      }
    },
    async clear() {
      await run('readwrite', (s) => s.clear());
    },
  };
}

/** Forgets every cached calibration of this runtime's store. */
export async function clearCalibrationCache(): Promise<void> {
  await (await calibrationStore()).clear();
  memory.clear();
}
