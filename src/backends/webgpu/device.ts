/// <reference types="@webgpu/types" />
// Finding a WebGPU adapter and device: navigator.gpu in browsers, Dawn's `webgpu` package in Node (loaded
// only here, when a WebGPU backend is asked for, so nothing else in vireo pays for it or needs it installed).
import { VireoError } from '../../core/errors.js';
import { isNode } from '../../core/platform.js';

/** Which adapter to ask for: the option wins, then VIREO_WEBGPU_ADAPTER, then the platform's default. */
export type AdapterChoice = 'default' | 'high-performance' | 'low-power' | 'fallback';

export interface WebGpuOptions {
  adapter?: AdapterChoice;
  /** Milliseconds to wait for an adapter and a device before giving up (default 15 s): never hang. */
  timeoutMs?: number;
}

/** The limits vireo asks for: the adapter's own maxima, so large models fit in one storage binding. */
export interface GpuHandle {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    minStorageBufferOffsetAlignment: number;
    maxComputeWorkgroupsPerDimension: number;
  };
  /** Destroys the device (its buffers and pipelines go with it); the process can then exit on its own. */
  release(): void;
}

function envAdapter(): AdapterChoice | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.VIREO_WEBGPU_ADAPTER;
  if (!v) return undefined;
  if (v === 'default' || v === 'high-performance' || v === 'low-power' || v === 'fallback') return v;
  throw new VireoError(`VIREO_WEBGPU_ADAPTER='${v}': expected default, high-performance, low-power or fallback`);
}

/** Rejects after `ms` with a message that says what was being waited for: an adapter request must not hang. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VireoError(`webgpu: ${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Dawn's GPU object, created once per process and never dropped: letting the instance be garbage-collected
 * aborts the process in Dawn's finalizer (seen with webgpu 0.6.2: "std::system_error: Invalid argument").
 * Holding it does not keep Node alive — a destroyed (or idle) device does not, tested in a child process.
 */
let dawnGpu: Promise<GPU> | null = null;

async function loadDawn(): Promise<GPU> {
  let mod: { create: (flags: string[]) => GPU; globals: object };
  try {
    // A variable specifier keeps bundlers from inlining the native module; it is resolved at run time.
    const name = 'webgpu';
    mod = (await import(name)) as typeof mod;
  } catch (e) {
    throw new VireoError(
      `webgpu: the optional 'webgpu' package (Dawn for Node.js) is not installed or does not load here (${(e as Error).message}); run 'npm install webgpu' or use the wasm backend`,
    );
  }
  // Dawn's objects check `instanceof` against these classes (GPUBufferUsage and friends).
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod.create([]);
}

/** navigator.gpu, or Dawn's GPU object in Node. The `webgpu` package is optional: say how to get it. */
async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode) {
    throw new VireoError('webgpu: this browser has no navigator.gpu (WebGPU is off or unsupported); use the wasm backend');
  }
  dawnGpu ??= loadDawn();
  dawnGpu.catch(() => {
    dawnGpu = null;
  });
  return dawnGpu;
}

/** Acquires an adapter and a device, or throws a VireoError that says which step failed and what to do. */
export async function acquireDevice(options: WebGpuOptions = {}): Promise<GpuHandle> {
  const choice = options.adapter ?? envAdapter() ?? 'default';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const gpu = await gpuEntry();
  const request: GPURequestAdapterOptions =
    choice === 'fallback' ? { forceFallbackAdapter: true } : choice === 'default' ? {} : { powerPreference: choice };
  const adapter = await withTimeout(gpu.requestAdapter(request), timeoutMs, 'requestAdapter');
  if (!adapter) {
    throw new VireoError(
      `webgpu: no adapter (asked for '${choice}'). In Node this means Dawn found no Vulkan/Metal/D3D12 driver: install a GPU driver, or for a CPU fallback point VK_ICD_FILENAMES at SwiftShader (see docs/webgpu.md)`,
    );
  }
  const a = adapter.limits;
  const limits = {
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxBufferSize: a.maxBufferSize,
    minStorageBufferOffsetAlignment: a.minStorageBufferOffsetAlignment,
    maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
  };
  const device = await withTimeout(
    adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize },
    }),
    timeoutMs,
    'requestDevice',
  );
  const info = adapter.info;
  let released = false;
  return {
    device,
    adapterInfo: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    },
    features: [...adapter.features].map(String).sort(),
    limits,
    release() {
      if (released) return;
      released = true;
      device.destroy();
    },
  };
}
