import {
  autoCandidates,
  backendInfo,
  calibrationStore,
  describeCandidate,
  disposeBackend,
  fingerprint,
  getBackend,
  loadCandidates,
} from '../index.js';
import type { BackendInfo } from '../backends/backend.js';
import { type Io, parseArgs } from './args.js';
import { packageVersion } from './package.js';

export const infoHelp = `usage: vireo info [--json]

Prints the runtime, its WebAssembly feature support (SIMD, relaxed SIMD, threads), which wasm build
of the engine runs here and on how many threads (with the reason), and the WebGPU adapter (vendor,
architecture, features, limits) if there is one.

  --json   one JSON object instead of text`;

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

/** The WebGPU adapter this runtime offers, in words: 'none' when there is no API or no adapter. */
async function describeWebGpuAdapter(gpu: GpuLike | undefined): Promise<string> {
  if (!gpu) return 'none (no navigator.gpu in this runtime)';
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'none (navigator.gpu present, no adapter offered)';
    const i = adapter.info ?? {};
    return [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'adapter present (no details)';
  } catch (err) {
    return `none (requestAdapter failed: ${(err as Error).message})`;
  }
}

/**
 * Node has no navigator.gpu: ask vireo's own WebGPU backend (Dawn, the optional 'webgpu' package) and report
 * its adapter, features and the limits vireo uses — or why there is none. The device is released afterwards.
 */
async function describeDawn(): Promise<{ line: string; detail: BackendInfo | null }> {
  try {
    const info = (await getBackend('webgpu')).info();
    const a = info.adapter;
    const line = a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') : '';
    return { line: line || 'adapter present (no details)', detail: info };
  } catch (err) {
    return { line: `none (no navigator.gpu; Dawn: ${(err as Error).message})`, detail: null };
  } finally {
    await disposeBackend('webgpu');
  }
}

export async function infoCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.out(infoHelp);
    return 0;
  }
  const wasm = await backendInfo('wasm');
  const { cpus } = await import('node:os');
  const g = globalThis as { SharedArrayBuffer?: unknown; navigator?: { gpu?: GpuLike } };
  const dawn = g.navigator?.gpu ? null : await describeDawn();
  const info = {
    vireo: packageVersion(),
    runtime: `Node.js ${process.version}`,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    wasm: {
      simd: wasm.features?.simd ?? false,
      relaxedSimd: wasm.features?.relaxedSimd ?? false,
      // Threads need shared memory (SharedArrayBuffer); how many the wasm backend runs, and why, is its own.
      threads: typeof g.SharedArrayBuffer === 'function',
    },
    threads: wasm.threads ?? 1,
    threadsReason: wasm.threadsReason ?? '',
    webgpu: dawn ? dawn.line : await describeWebGpuAdapter(g.navigator?.gpu),
    webgpuBackend: dawn?.detail
      ? { adapter: dawn.detail.adapter, features: dawn.detail.adapterFeatures, limits: dawn.detail.limits }
      : null,
    build: wasm.build ?? 'unknown',
    placement: await describePlacement(),
  };
  if (values.json) {
    io.out(JSON.stringify(info));
    return 0;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  io.out(`vireo ${info.vireo}`);
  io.out(`runtime        ${info.runtime} (V8 ${info.v8}), ${info.platform}`);
  io.out(`cpu            ${info.cpu} × ${info.cores}`);
  io.out(`wasm simd      ${yes(info.wasm.simd)}`);
  io.out(`relaxed simd   ${yes(info.wasm.relaxedSimd)}`);
  io.out(`wasm threads   ${yes(info.wasm.threads)}`);
  io.out(`threads        ${info.threads} (${info.threadsReason}; \`net.to('wasm', { threads: N })\` to choose)`);
  io.out(`webgpu         ${info.webgpu}`);
  if (info.webgpuBackend) {
    io.out(
      `webgpu limits  ${Object.entries(info.webgpuBackend.limits ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    io.out(`webgpu features ${(info.webgpuBackend.features ?? []).join(', ') || 'none'}`);
  }
  io.out(`running build  ${info.build} (best this engine validates: relaxed > simd > scalar)`);
  io.out(`auto placement candidates: ${info.placement.candidates.join(', ')} (the reference backend is never one)`);
  for (const s of info.placement.skipped) io.out(`  left out: ${s}`);
  io.out(`calibration    ${info.placement.cache}: ${info.placement.cached}`);
  return 0;
}

/** `--backend auto`'s candidates here (each named with its build, threads or adapter), those left out and why, and what the calibration cache holds for each. */
async function describePlacement(): Promise<{ candidates: string[]; skipped: string[]; cache: string; cached: string }> {
  try {
    const { candidates, skipped } = await loadCandidates(autoCandidates(), {}, false);
    const store = await calibrationStore();
    const parts: string[] = [];
    for (const b of candidates) {
      const c = await store.load(fingerprint(b));
      parts.push(`${b.name} ${c ? `${Object.keys(c.kernels).length} kernel timings` : 'not calibrated'}`);
    }
    return {
      candidates: candidates.map(describeCandidate),
      skipped: skipped.map((s) => `${s.name} (${s.reason})`),
      cache: store.where,
      cached: parts.join(', ') + (store.notes.length ? ` (${store.notes.join('; ')})` : ''),
    };
  } finally {
    await disposeBackend('webgpu');
  }
}
