import type { Backend, DeviceMemory } from './backend.js';
import { createReferenceBackend } from './reference/index.js';

let host: Backend | null = null;

/**
 * The reference backend, created synchronously: where parameters that no compiled model placed yet are
 * updated (an optimizer stepping on gradients set by hand), and the oracle of validate mode.
 */
export function hostBackend(): Backend {
  if (!host) {
    host = createReferenceBackend();
    registerMemoryOwner(host);
  }
  return host;
}

const owners = new WeakMap<DeviceMemory, Backend>();

/** Records which backend owns a memory (the executor does for every backend it places steps on). */
export function registerMemoryOwner(backend: Backend): void {
  owners.set(backend.memory, backend);
}

/** The backend whose memory this is: a bound parameter's updates run on it. */
export function ownerOf(memory: DeviceMemory): Backend {
  const b = owners.get(memory);
  if (!b) throw new Error('internal: a parameter is bound to a memory no known backend owns');
  return b;
}
