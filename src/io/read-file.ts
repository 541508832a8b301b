// Reading a file the user named, without trusting what it is: only regular files (a FIFO would block
// forever, /dev/zero would read until memory runs out), up to a size limit, with the real problem named
// (a symlink loop is not "no such file"). The file is opened non-blocking and checked with fstat on the
// open descriptor, so what is checked is what is read. Node-only; node:fs is imported on first use.
import { FormatError, LimitError } from '../core/errors.js';
import { formatBytes } from './model-check.js';

const kinds: [string, (s: import('node:fs').Stats) => boolean][] = [
  ['a directory', (s) => s.isDirectory()],
  ['a FIFO (named pipe)', (s) => s.isFIFO()],
  ['a character device', (s) => s.isCharacterDevice()],
  ['a block device', (s) => s.isBlockDevice()],
  ['a socket', (s) => s.isSocket()],
];

function openError(path: string, e: NodeJS.ErrnoException): FormatError {
  const why: Record<string, string> = {
    ENOENT: 'no such file',
    ELOOP: 'a symbolic link loop (the link points back to itself)',
    EACCES: 'permission denied',
    ENOTDIR: 'a part of the path is not a directory',
    EISDIR: 'a directory',
  };
  return new FormatError(`${path}: ${why[e.code ?? ''] ?? `cannot open (${e.code ?? e.message})`}`);
}

/** Opens `path` for reading and checks it is a regular file of at most `maxBytes`; returns the fd and size. */
async function openRegular(path: string, maxBytes: number): Promise<{ fd: number; size: number }> {
  const { closeSync, constants, fstatSync, openSync } = await import('node:fs');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw openError(path, e as NodeJS.ErrnoException);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    const kind = kinds.find(([, is]) => is(st))?.[0] ?? 'not a regular file';
    throw new FormatError(`${path}: ${kind}, not a regular file; give a file`);
  }
  if (st.size > maxBytes) {
    closeSync(fd);
    throw new LimitError(`${path}: ${formatBytes(st.size)}, over the limit of ${formatBytes(maxBytes)} for this kind of file`);
  }
  return { fd, size: st.size };
}

/** The bytes of a regular file of at most `maxBytes`; FormatError or LimitError otherwise. */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const { closeSync, readSync } = await import('node:fs');
  const { fd, size } = await openRegular(path, maxBytes);
  try {
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    if (at !== size) throw new FormatError(`${path}: the file shrank while it was read (${at} of ${size} bytes)`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Checks `path` is a regular file of at most `maxBytes` (for readers that open it themselves). */
export async function checkRegularFile(path: string, maxBytes: number): Promise<void> {
  const { closeSync } = await import('node:fs');
  closeSync((await openRegular(path, maxBytes)).fd);
}
