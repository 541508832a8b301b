// A model directory written as one atomic step: every file goes into a temporary sibling
// (`.NAME.vireo-new-PID-N`), each fsynced, then the sibling replaces the directory by renames. POSIX cannot
// rename a directory over a non-empty one, so an existing directory is first renamed aside
// (`.NAME.vireo-old-PID-N`); a process killed between those two renames leaves no NAME but both siblings,
// and `settleDirectory` (run before every read or write of a model directory) finishes the swap. A reader
// therefore sees the previous complete directory or the new complete one, never a mix of two models' files.
// Node-only; node:fs is imported on first use so browser bundles of the package entry stay loadable.
import { ArgumentError, FormatError } from '../core/errors.js';

export type DirectoryFile = { name: string; data: Uint8Array | string } | { name: string; copyFrom: string };

const marker = '.vireo-';
let counter = 0;

function split(dir: string): { parent: string; base: string } {
  const trimmed = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  const slash = trimmed.lastIndexOf('/');
  return {
    parent: slash < 0 ? '.' : slash === 0 ? '/' : trimmed.slice(0, slash),
    base: trimmed.slice(slash + 1),
  };
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Siblings of `dir` left by interrupted writes of it: { name, kind, id (pid-n), pid }. */
async function leftovers(dir: string) {
  const { readdirSync } = await import('node:fs');
  const { parent, base } = split(dir);
  const prefix = `.${base}${marker}`;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const found: { path: string; kind: 'new' | 'old'; id: string; pid: number }[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(new|old)-(\d+)-(\d+)$/.exec(name.slice(prefix.length));
    if (m) found.push({ path: `${parent}/${name}`, kind: m[1] as 'new' | 'old', id: `${m[2]}-${m[3]}`, pid: Number(m[2]) });
  }
  return found;
}

/**
 * Finishes or rolls back a write of `dir` that a killed process left half done: a swap stopped between
 * its two renames is completed (the new sibling was complete before the swap began); temporary siblings
 * of dead processes are removed. Siblings of live processes are left alone.
 */
export async function settleDirectory(dir: string): Promise<void> {
  const { existsSync, renameSync, rmSync } = await import('node:fs');
  const dead = (await leftovers(dir)).filter((l) => !alive(l.pid));
  if (dead.length === 0) return;
  if (!existsSync(dir)) {
    const old = dead.find((l) => l.kind === 'old');
    if (old) {
      const fresh = dead.find((l) => l.kind === 'new' && l.id === old.id);
      renameSync((fresh ?? old).path, dir);
    }
  }
  for (const l of dead) if (existsSync(l.path)) rmSync(l.path, { recursive: true, force: true });
}

/**
 * Checks that `dir` can become a directory before any work is done: not an existing file, and its nearest
 * existing ancestor a directory in which a directory can be created (a probe, created and removed: some
 * file systems, such as /proc, refuse creation only when it is tried).
 */
export async function checkWritableDirectory(dir: string, option: string): Promise<void> {
  const { mkdtempSync, rmdirSync, statSync } = await import('node:fs');
  const { dirname, resolve } = await import('node:path');
  let at = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(at) !== at) {
        at = dirname(at);
        continue;
      }
      throw new ArgumentError(`${option} ${dir}: cannot use ${at} (${code ?? (e as Error).message})`);
    }
    if (!isDir)
      throw new ArgumentError(
        at === resolve(dir)
          ? `${option} ${dir}: a file is there; give a directory (new, empty, or one holding a vireo model)`
          : `${option} ${dir}: ${at} is a file, not a directory`,
      );
    break;
  }
  try {
    rmdirSync(mkdtempSync(`${at}/.vireo-probe-`));
  } catch (e) {
    throw new ArgumentError(
      `${option} ${dir}: cannot create directories in ${at} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** Creates the missing ancestors of `dir` one level at a time (Node 20's recursive mkdirSync spins on /proc). */
async function makeParents(dir: string): Promise<void> {
  const { mkdirSync, statSync } = await import('node:fs');
  const { dirname, resolve } = await import('node:path');
  const missing: string[] = [];
  for (let at = dirname(resolve(dir)); ; at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) throw new ArgumentError(`${dir}: ${at} is not a directory`);
      break;
    } catch (e) {
      if (e instanceof ArgumentError || (e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw e;
      missing.unshift(at);
    }
  }
  for (const at of missing) {
    try {
      mkdirSync(at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Replaces `dir` with a directory holding exactly `files`, atomically (see the file comment). */
export async function writeDirectoryAtomic(dir: string, files: DirectoryFile[]): Promise<void> {
  const fs = await import('node:fs');
  const { fsyncDirectory } = await import('./atomic.js');
  for (const f of files)
    if (!/^[^/\\]+$/.test(f.name) || f.name === '.' || f.name === '..')
      throw new ArgumentError(`writeDirectoryAtomic: '${f.name}' is not a plain file name`);
  await settleDirectory(dir);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new FormatError(`${dir}: a file is there, not a directory`);
  await makeParents(dir);
  const { parent, base } = split(dir);
  const id = `${process.pid}-${counter++}`;
  const fresh = `${parent}/.${base}${marker}new-${id}`;
  const old = `${parent}/.${base}${marker}old-${id}`;
  fs.mkdirSync(fresh);
  try {
    for (const f of files) {
      const bytes =
        'copyFrom' in f ? fs.readFileSync(f.copyFrom) : typeof f.data === 'string' ? new TextEncoder().encode(f.data) : f.data;
      const fd = fs.openSync(`${fresh}/${f.name}`, 'wx', 0o644);
      try {
        let at = 0;
        while (at < bytes.length) at += fs.writeSync(fd, bytes, at, Math.min(bytes.length - at, 1 << 26));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    await fsyncDirectory(fresh);
  } catch (e) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
  // From here on the new directory is complete: settleDirectory finishes the swap if this process dies.
  const replacing = fs.existsSync(dir);
  if (replacing) fs.renameSync(dir, old);
  fs.renameSync(fresh, dir);
  await fsyncDirectory(parent);
  if (replacing) fs.rmSync(old, { recursive: true, force: true });
}
