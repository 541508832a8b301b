import type { BackendInfo } from './backend.js';
import { getBackend } from './registry.js';

/** Which backend (and for wasm which build) runs by default here, with the engine's feature support. */
export async function backendInfo(name = 'wasm'): Promise<BackendInfo> {
  return (await getBackend(name)).info();
}
