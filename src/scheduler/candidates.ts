import type { Backend } from '../backends/backend.js';
import { type BackendOptions, getBackend } from '../backends/registry.js';

/**
 * `auto`'s candidates: loading them, and naming them so a report says which engine each column measured.
 *
 * wasm is one candidate, with the threads its instance runs (threaded by default where shared memory is
 * available). A one-thread wasm is deliberately not a second candidate: it runs the same kernels, only
 * unsplit, and a layer placed on it would live in another wasm instance's memory — every crossing between
 * the two would be a copy through the host, which costs more than the thread hand-off it would save on a
 * small layer. Choosing the thread count is the wasm backend's business (thread-count.ts), per instance.
 */

/** A candidate in words: 'wasm (relaxed-simd, 2 threads)', 'webgpu (SwiftShader Device (Subzero))'. */
export function describeCandidate(backend: Backend): string {
  const info = backend.info();
  if (info.adapter) {
    const a = info.adapter;
    const what = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unnamed adapter';
    return `${backend.name} (${what})`;
  }
  const parts: string[] = [];
  if (info.build) parts.push(info.build === 'relaxed' ? 'relaxed-simd' : info.build);
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  return parts.length ? `${backend.name} (${parts.join(', ')})` : backend.name;
}

/** A candidate that could not join, and why (no adapter, the optional package missing). */
export interface SkippedCandidate {
  name: string;
  reason: string;
}

/**
 * Loads the candidates. Host-mappable backends come first (the warm start runs on the first one while the
 * others calibrate). A GPU backend that cannot start here — no adapter, no driver, the optional `webgpu`
 * package absent — is left out with its reason unless the caller named it (`explicit`), which rethrows.
 */
export async function loadCandidates(
  names: readonly string[],
  options: BackendOptions,
  explicit: boolean,
): Promise<{ candidates: Backend[]; skipped: SkippedCandidate[] }> {
  const ordered = [...names.filter((n) => n !== 'webgpu'), ...names.filter((n) => n === 'webgpu')];
  const candidates: Backend[] = [];
  const skipped: SkippedCandidate[] = [];
  for (const n of ordered) {
    if (n !== 'webgpu') {
      candidates.push(await getBackend(n, n === 'wasm' ? options : {}));
      continue;
    }
    try {
      candidates.push(await getBackend(n, options.adapter ? { adapter: options.adapter } : {}));
    } catch (e) {
      if (explicit) throw e;
      skipped.push({ name: n, reason: (e as Error).message });
    }
  }
  return { candidates, skipped };
}
