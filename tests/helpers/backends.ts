import { getBackend } from '../../src/index.js';
import type { Backend } from '../../src/backends/backend.js';
import type { WasmBuild } from '../../src/backends/registry.js';

/** Every backend configuration the suites run against: each wasm build is tested on its own. */
export interface BackendUnderTest {
  label: string;
  name: 'reference' | 'wasm';
  build?: WasmBuild;
}

export const wasmBuilds: WasmBuild[] = ['simd', 'relaxed', 'scalar'];

export const backendsUnderTest: BackendUnderTest[] = [
  { label: 'reference', name: 'reference' },
  ...wasmBuilds.map((build) => ({ label: `wasm:${build}`, name: 'wasm' as const, build })),
];

export function loadBackend(b: BackendUnderTest): Promise<Backend> {
  return getBackend(b.name, b.build ? { build: b.build } : {});
}
