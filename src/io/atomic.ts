// Crash-safe file replacement: write a temporary file next to the target, fsync it, rename it over the
// target, then fsync the directory so the rename itself is durable. A process killed at any moment
// leaves either the previous file or the new one, never a torn mix.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** Replaces `path` with `bytes` atomically (same directory temp file, fsync, rename, fsync of the directory). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, Math.min(data.length - at, 1 << 26));
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirectory(dir);
}

/** fsync on a directory makes a rename in it durable; some platforms (Windows) refuse it, which is harmless there. */
export function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not supported on this platform/filesystem.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
