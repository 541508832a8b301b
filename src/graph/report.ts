import { type Shape, shapeToString } from '../core/shape.js';
import type { LayerTiming } from './executor.js';

/** What a scheduler estimated for a plan (src/scheduler's Schedule has this shape). */
export interface PlacementEstimates {
  candidates: string[];
  /** Each candidate in words ('wasm (relaxed-simd, 2 threads)'), in `candidates` order. */
  labels?: string[];
  lines: { layer: string; backend: string; estimatedMs: Record<string, number> }[];
  estimatedTotalMs: number;
  estimatedCopyMs: number;
}

export interface PlacedStep {
  kind: 'kernel' | 'copy' | 'grad';
  name: string;
  op: string;
  backend: string;
  bytes?: number;
}

const ms = (x: number | undefined) => (x === undefined ? '-' : Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/**
 * The placement report: one row per step (layer, op, output shape, the backend that runs it, each candidate's
 * estimated time when a scheduler placed the plan, the measured time when a profiled run is given), copies with
 * their bytes, and totals — estimated against measured, so the cost model's error is in plain sight.
 */
export function formatPlacementReport(
  steps: readonly PlacedStep[],
  shapes: ReadonlyMap<string, Shape>,
  estimates: PlacementEstimates | null,
  measured: readonly LayerTiming[] | null,
): string {
  const candidates = estimates?.candidates ?? [];
  const headers = ['layer', 'op', 'output', 'backend', ...candidates.map((c) => `est ${c} ms`), 'measured ms', 'bytes'];
  const estimateOf = new Map(estimates?.lines.map((l) => [l.layer.split('+')[0], l.estimatedMs]) ?? []);
  // Measured rows in step order (packing rows left out: they happen only when weights change).
  const times = (measured ?? []).filter((t) => t.op !== 'pack');
  let k = 0;
  const rows = steps.map((s) => {
    const t = times[k]?.op === s.op || (s.kind === 'grad' && times[k]?.op === 'gradAccumulate') ? times[k++] : undefined;
    const est = s.kind === 'kernel' ? estimateOf.get(s.name) : undefined;
    const shape = shapes.get(s.name);
    return [
      s.name,
      s.op,
      shape && s.kind === 'kernel' ? shapeToString(shape) : '',
      s.backend,
      ...candidates.map((c) => (est ? ms(est[c]) : '')),
      ms(t?.ms),
      s.bytes === undefined ? '' : String(s.bytes),
    ];
  });
  const measuredTotal = times.reduce((a, t) => a + t.ms, 0);
  const copies = steps.filter((s) => s.kind === 'copy');
  const lines = [table(headers, rows), `copies: ${copies.length}, ${copies.reduce((a, c) => a + (c.bytes ?? 0), 0)} bytes`];
  if (estimates?.labels) lines.push(`candidates: ${estimates.labels.join('; ')}`);
  if (estimates) lines.push(`estimated total ${ms(estimates.estimatedTotalMs)} ms (copies ${ms(estimates.estimatedCopyMs)} ms)`);
  if (measured) lines.push(`measured total ${ms(measuredTotal)} ms (kernels, copies and gradient steps of one run)`);
  return lines.join('\n');
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
