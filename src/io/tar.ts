// A tar archive (POSIX ustar) in memory: how a browser hands a model directory over as one download that
// every system can unpack (`tar xf model.tar`), and how it takes one back. Regular files only, names up to
// 100 bytes: all a model directory needs.
import { FormatError } from '../core/errors.js';

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

const BLOCK = 512;
const encoder = new TextEncoder();

function writeField(header: Uint8Array, offset: number, length: number, text: string): void {
  header.set(encoder.encode(text).subarray(0, length), offset);
}

/** An octal number field: digits, zero-padded, then NUL (as GNU and BSD tar write them). */
const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');

/** Files → one tar archive (mode 0644, mtime `mtime` seconds, default 0 so the bytes are reproducible). */
export function writeTar(entries: readonly TarEntry[], mtime = 0): Uint8Array {
  let size = 2 * BLOCK; // two zero blocks end the archive
  for (const e of entries) size += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(size);
  let at = 0;
  for (const { name, data } of entries) {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > 100) throw new FormatError(`tar: name '${name}' must be 1 to 100 bytes`);
    const header = out.subarray(at, at + BLOCK);
    writeField(header, 0, 100, name);
    writeField(header, 100, 8, octal(0o644, 8));
    writeField(header, 108, 8, octal(0, 8));
    writeField(header, 116, 8, octal(0, 8));
    writeField(header, 124, 12, octal(data.length, 12));
    writeField(header, 136, 12, octal(mtime, 12));
    header[156] = 0x30; // '0': a regular file
    writeField(header, 257, 6, 'ustar');
    writeField(header, 263, 2, '00');
    // The checksum is summed with its own field as eight spaces.
    header.fill(0x20, 148, 156);
    const sum = header.reduce((a, b) => a + b, 0);
    writeField(header, 148, 8, `${octal(sum, 7)}\0`);
    out.set(data, at + BLOCK);
    at += BLOCK + Math.ceil(data.length / BLOCK) * BLOCK;
  }
  return out;
}

function readString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function readOctal(bytes: Uint8Array, what: string, source: string): number {
  const text = readString(bytes).trim();
  if (!/^[0-7]+$/.test(text)) throw new FormatError(`${source}: not a tar archive (${what} field '${text}')`);
  return Number.parseInt(text, 8);
}

/**
 * The regular files of a tar archive (directories, links and pax/GNU headers are skipped; a leading './'
 * or folder is kept in the name). Throws a FormatError for anything that is not a tar archive.
 */
export function readTar(bytes: Uint8Array, source = 'archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let ended = false;
  if (bytes.length < BLOCK) throw new FormatError(`${source}: not a tar archive (${bytes.length} bytes)`);
  while (at + BLOCK <= bytes.length) {
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) {
      ended = true;
      break;
    }
    const stored = readOctal(header.subarray(148, 156), 'checksum', source);
    const sum = header.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (stored !== sum) throw new FormatError(`${source}: not a tar archive (header checksum ${stored}, computed ${sum})`);
    const size = readOctal(header.subarray(124, 136), 'size', source);
    const type = header[156];
    const prefix = readString(header.subarray(345, 500));
    const name = (prefix ? `${prefix}/` : '') + readString(header.subarray(0, 100));
    const start = at + BLOCK;
    if (start + size > bytes.length) throw new FormatError(`${source}: '${name}' runs past the end of the archive (truncated?)`);
    if (type === 0x30 || type === 0) entries.push({ name, data: bytes.slice(start, start + size) });
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  // tar writes zero blocks after the last file: without them the download or copy was cut short.
  if (!ended) throw new FormatError(`${source}: the archive ends before its end marker (truncated?)`);
  return entries;
}
