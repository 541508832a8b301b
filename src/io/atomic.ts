// Crash-safe file replacement: write a temporary file next to the target, fsync it, rename it over the
// target, then fsync the directory so the rename itself is durable. A process killed at any moment
// leaves either the previous file or the new one, never a torn mix.
// node:fs is imported when a write happens, so browser bundles of the package entry can include this module.

let counter = 0;

/** Replaces `path` with `bytes` atomically (same directory temp file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } = await import('node:fs');
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const { dir, base } = splitPath(path);
  const tmp = `${dir}/.${base}.${process.pid}.${counter++}.tmp`;
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
  await fsyncDirectory(dir);
  await removeOrphans(path);
}

/**
 * Removes the temporary siblings (`.<name>.<pid>.<n>.tmp`, and `<name>.<pid>.<n>.tmp` as earlier releases
 * named them) that writers of `path` killed between write and rename left behind — their process is gone;
 * a live writer's file is left alone. Called after each write, so a crash costs disk space only until the
 * next one.
 */
export async function removeOrphans(path: string): Promise<void> {
  const { readdirSync, rmSync } = await import('node:fs');
  const { dir, base } = splitPath(path);
  const prefixes = [`.${base}.`, `${base}.`];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    const m = prefix === undefined ? null : /^(\d+)\.\d+\.tmp$/.exec(name.slice(prefix.length));
    if (m && !processAlive(Number(m[1]))) rmSync(`${dir}/${name}`, { force: true });
  }
}

/** The directory a path's file is in and its name (the directory '.' for a bare name). */
function splitPath(path: string): { dir: string; base: string } {
  const slash = path.lastIndexOf('/');
  return { dir: slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash), base: path.slice(slash + 1) };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** fsync on a directory makes a rename in it durable; some platforms (Windows) refuse it, which is harmless there. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const { closeSync, fsyncSync, openSync } = await import('node:fs');
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
