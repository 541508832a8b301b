// Builds small dataset files in the real on-disk formats (IDX, CIFAR binary, PNG folders) in a temp dir.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function tempDir(prefix = 'vireo-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An unsigned-byte IDX file: magic 0x0000 08 rank, big-endian dims, data. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  const v = new DataView(header.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

export function writeFile(path: string, bytes: Uint8Array, gzip = false): string {
  writeFileSync(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}

/** Deterministic pixel pattern: record r, byte i. */
export function pattern(r: number, i: number): number {
  return (r * 31 + i * 7 + ((i * i) >> 3)) & 255;
}

/** CIFAR records: labelBytes label byte(s) then 3072 planar RGB bytes. */
export function cifarBytes(labels: number[][]): Uint8Array {
  const rec = labels[0].length + 3072;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((ls, r) => {
    ls.forEach((l, k) => (out[r * rec + k] = l));
    for (let i = 0; i < 3072; i++) out[r * rec + ls.length + i] = pattern(r, i);
  });
  return out;
}

export function mkdir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
