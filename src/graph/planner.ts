import { alignUp } from '../core/align.js';

/**
 * Static memory planning: every value of a plan gets a byte offset in one region, chosen once from
 * value lifetimes so values that are never alive together share memory.
 */
export interface BufferRequest {
  bytes: number;
  /** Index of the step that writes the value (-1 for graph inputs). */
  firstUse: number;
  /** Index of the last step that reads it (Infinity for graph outputs). */
  lastUse: number;
}

export interface BufferLayout {
  offsets: number[];
  totalBytes: number;
}

/**
 * Greedy by size, largest first, each placed at the lowest offset that no overlapping lifetime uses.
 * Every offset is a multiple of `align` (the backend memory's alignment, at least a cache line).
 */
export function planBuffers(requests: readonly BufferRequest[], align = 64): BufferLayout {
  const order = requests.map((_, i) => i).sort((a, b) => requests[b].bytes - requests[a].bytes || a - b);
  const offsets = new Array<number>(requests.length).fill(0);
  const placed: number[] = [];
  let totalBytes = 0;
  for (const i of order) {
    const r = requests[i];
    const size = alignUp(Math.max(r.bytes, 1), align);
    const busy = placed
      .filter((j) => requests[j].firstUse <= r.lastUse && r.firstUse <= requests[j].lastUse)
      .map((j) => [offsets[j], offsets[j] + alignUp(Math.max(requests[j].bytes, 1), align)] as const)
      .sort((a, b) => a[0] - b[0]);
    let offset = 0;
    for (const [start, end] of busy) {
      if (offset + size <= start) break;
      offset = Math.max(offset, end);
    }
    offsets[i] = offset;
    placed.push(i);
    totalBytes = Math.max(totalBytes, offset + size);
  }
  return { offsets, totalBytes };
}
