// Reading dataset files: node:fs in Node, fetch() for URLs (browsers), gunzip either way.
import { FormatError } from '../core/errors.js';
import { isNode } from '../core/platform.js';

/** Reads a whole file (a path in Node, or a URL). */
export async function readBytes(path: string | URL): Promise<Uint8Array> {
  const s = path.toString();
  if (/^(https?|blob|data):/.test(s)) {
    const r = await fetch(s);
    if (!r.ok) throw new FormatError(`${s}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }
  const fs = await import('node:fs/promises');
  return new Uint8Array(await fs.readFile(path));
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips when the bytes start with the gzip magic, else returns them as they are. */
export async function maybeGunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    if (isNode) {
      const zlib = await import('node:zlib');
      return new Uint8Array(zlib.gunzipSync(bytes));
    }
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new FormatError(`${file}: gzip data is corrupt or truncated (${(e as Error).message})`);
  }
}

export async function listDirectory(dir: string): Promise<{ name: string; isDirectory: boolean }[]> {
  const fs = await import('node:fs/promises');
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .map((e) => ({ name: e.name, isDirectory: e.isDirectory() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function exists(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}
