// Terminal helpers for the vireo commands: colour and progress bars only on a TTY (and not with NO_COLOR).
import { backendNames } from '../backends/registry.js';
import type { Module } from '../nn/module.js';
import cliProgress from 'cli-progress';
import { type Io, UsageError, consoleIo } from './args.js';

export function isTty(io: Io): boolean {
  return io === consoleIo && Boolean(process.stderr.isTTY);
}

export function colours(io: Io) {
  const on = io === consoleIo && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const wrap = (code: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: wrap(1), dim: wrap(2), green: wrap(32), yellow: wrap(33), red: wrap(31), cyan: wrap(36) };
}

export interface Progress {
  start(total: number, label: string): void;
  update(value: number, info?: string): void;
  stop(): void;
}

/** A cli-progress bar on stderr when it is a TTY; otherwise nothing. */
export function progress(io: Io, enabled: boolean): Progress {
  if (!enabled || !isTty(io)) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: '{label} [{bar}] {value}/{total} {info}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start(total, label) {
      bar.start(total, 0, { label, info: '' });
      running = true;
    },
    update(value, info = '') {
      if (running) bar.update(value, { info });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/**
 * A name from a file (class names, paths) made safe for a terminal: control characters (ANSI escapes,
 * newlines, carriage returns), DEL, C1 controls, line separators and bidirectional overrides become
 * visible \xNN / \uNNNN escapes, so a model file cannot rewrite or fake the screen. JSON output stays exact.
 */
export function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function floatOption(
  value: string | undefined,
  name: string,
  fallback: number,
  check: (v: number) => boolean,
  want: string,
): number {
  if (value === undefined) return fallback;
  // Decimal notation only ('1e-3' included): Number() alone would take '0x1' or '0b1' as numbers.
  const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value) ? Number(value) : Number.NaN;
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${want}, got '${value}'`);
  return n;
}

export function choice<T extends string>(value: string | undefined, name: string, options: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!options.includes(value as T)) throw new UsageError(`--${name} must be one of ${options.join(', ')}, got '${value}'`);
  return value as T;
}

/**
 * `--backend`: 'auto' (the default: each layer on the backend measured fastest here, src/scheduler) or any
 * registered backend (the registry is the one list).
 */
export function backendOption(value: string | undefined, fallback = 'auto'): string {
  return choice(value, 'backend', ['auto', ...backendNames()], fallback);
}

/**
 * Moves a model to `--backend`: under auto, the calibration (kernel timings on each candidate, once per
 * device: then cached) shows as a progress line on a TTY, so a first run says why it takes a moment.
 */
export async function toBackend(model: Module, backend: string, io: Io, showProgress = true): Promise<void> {
  if (backend !== 'auto') {
    await model.to(backend);
    return;
  }
  const bar = progress(io, showProgress);
  let started = false;
  await model.to('auto', {
    onCalibration: (done, total) => {
      if (!started && total > 0) {
        bar.start(total, 'calibrating auto placement');
        started = true;
      }
      bar.update(done, done === total ? 'done' : '');
      if (done === total) bar.stop();
    },
  });
}
