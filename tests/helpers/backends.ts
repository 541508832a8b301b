import { getBackend } from '../../src/index.js';
import type { Backend } from '../../src/backends/backend.js';
import type { Module } from '../../src/nn/module.js';
import type { WasmBuild } from '../../src/backends/registry.js';

/**
 * Every backend configuration the suites run against: each wasm build is tested on its own on one
 * thread (the fallback every engine has), and the SIMD builds' threaded twins on 2 and 4 threads.
 */
export interface BackendUnderTest {
  label: string;
  name: 'reference' | 'wasm' | 'webgpu';
  build?: WasmBuild;
  /** wasm: threads (1 unless a threaded configuration). */
  threads?: number;
}

export const wasmBuilds: WasmBuild[] = ['simd', 'relaxed', 'scalar'];

/** The threaded configurations: the results must be those of the same build on one thread, bit for bit. */
export const threadedUnderTest: BackendUnderTest[] = [
  { label: 'wasm:relaxed×2', name: 'wasm', build: 'relaxed', threads: 2 },
  { label: 'wasm:relaxed×4', name: 'wasm', build: 'relaxed', threads: 4 },
  { label: 'wasm:simd×2', name: 'wasm', build: 'simd', threads: 2 },
];

export const backendsUnderTest: BackendUnderTest[] = [
  { label: 'reference', name: 'reference' },
  ...wasmBuilds.map((build) => ({ label: `wasm:${build}`, name: 'wasm' as const, build, threads: 1 })),
  ...threadedUnderTest,
];

/** The one-thread configuration a threaded one must match bit for bit. */
export function oneThreadTwin(b: BackendUnderTest): BackendUnderTest | undefined {
  return backendsUnderTest.find((o) => o.name === b.name && o.build === b.build && o.threads === 1);
}

function backendOptions(b: BackendUnderTest): { build?: WasmBuild; threads?: number } {
  return b.name === 'wasm' ? { build: b.build, threads: b.threads ?? 1 } : {};
}

export function loadBackend(b: BackendUnderTest): Promise<Backend> {
  return getBackend(b.name, backendOptions(b));
}

/**
 * A model split across the two CPU backends, layer by layer: the leaf layers in order, even ones on the
 * first backend and odd ones on the other (`reference`/`wasm`), so every layer boundary is a copy step.
 */
export interface PlacementUnderTest {
  label: string;
  /** The backend of layer 0, 2, 4, …; the other one runs layers 1, 3, 5, … */
  even: 'reference' | 'wasm';
}

export const alternatingPlacements: PlacementUnderTest[] = [
  { label: 'alternating reference/wasm', even: 'reference' },
  { label: 'alternating wasm/reference', even: 'wasm' },
];

/** The module's leaf layers (no children), in state-dict order. */
export function leafLayers(net: Module): string[] {
  const paths = net.layerPaths();
  return paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`)));
}

/** Moves `net` onto the alternating placement: the main backend is the odd layers', the even layers are named. */
export async function toAlternating(net: Module, p: PlacementUnderTest): Promise<Record<string, string>> {
  const odd = p.even === 'reference' ? 'wasm' : 'reference';
  const placement: Record<string, string> = {};
  leafLayers(net).forEach((layer, i) => {
    if (i % 2 === 0) placement[layer] = p.even;
  });
  await net.to(odd, { placement });
  return placement;
}

/**
 * The WebGPU backend where the suites run it (SwiftShader in CI, see tests/helpers/webgpu.ts): the suites
 * whose APIs it supports add it (parity); it is not in `targetsUnderTest`, whose suites also clip gradients
 * and read weights synchronously.
 */
export const gpuTargets: BackendUnderTest[] = process.env.VIREO_TEST_WEBGPU ? [{ label: 'webgpu', name: 'webgpu' }] : [];

/** A single backend or an alternating placement: every place a model can run in these suites. */
export type Target = BackendUnderTest | PlacementUnderTest;

export const targetsUnderTest: Target[] = [...backendsUnderTest, ...alternatingPlacements];

export async function moveTo(net: Module, t: Target): Promise<void> {
  if ('even' in t) await toAlternating(net, t);
  else await net.to(t.name, backendOptions(t));
}
