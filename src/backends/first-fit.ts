import { alignUp } from '../core/align.js';

/**
 * First-fit allocation over one growable address range, shared by every device memory (a wasm module's
 * memory, a host ArrayBuffer, a GPU storage buffer): blocks of a fixed alignment, freed blocks merged with
 * their neighbours, the top lowered when the last block goes. The owner grows its storage when `alloc` says
 * the top passed it; `highWater` lets tests prove a warm step allocates nothing.
 */
export class FirstFit {
  private freeBlocks: { start: number; end: number }[] = [];
  private sizes = new Map<number, number>();
  private top: number;
  private peak: number;

  constructor(
    base: number,
    private readonly align: number,
    private readonly minBytes = 1,
  ) {
    this.top = base;
    this.peak = base;
  }

  /** A block of at least `bytes`; `grow(top)` is called first when the block ends past the current top. */
  alloc(bytes: number, grow: (top: number) => void): number {
    const size = alignUp(Math.max(bytes, this.minBytes), this.align);
    const slot = this.freeBlocks.findIndex((b) => b.end - b.start >= size);
    let ptr: number;
    if (slot >= 0) {
      const block = this.freeBlocks[slot];
      ptr = block.start;
      if (block.end - block.start === size) this.freeBlocks.splice(slot, 1);
      else block.start += size;
    } else {
      ptr = this.top;
      grow(this.top + size);
      this.top += size;
    }
    this.sizes.set(ptr, size);
    this.peak = Math.max(this.peak, this.top);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    this.freeBlocks.push({ start: ptr, end: ptr + size });
    this.freeBlocks.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const b of this.freeBlocks) {
      const last = merged[merged.length - 1];
      if (last && last.end === b.start) last.end = b.end;
      else merged.push({ ...b });
    }
    const tail = merged[merged.length - 1];
    if (tail && tail.end === this.top) {
      this.top = tail.start;
      merged.pop();
    }
    this.freeBlocks = merged;
  }

  /** Highest byte ever handed out: constant across warm steps. */
  get highWater(): number {
    return this.peak;
  }

  get bytesInUse(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }
}
