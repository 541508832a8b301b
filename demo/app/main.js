// The app: three views behind tabs (Classify loads first; Teach and Benchmark load when opened), the
// service worker that keeps it working offline, full screen, and the kiosk's idle reset.
import { classifyView } from './classify.js';
import { loadShipped } from './models.js';
import { hooks, models } from './state.js';
import { notify, plainError } from './ui.js';

const views = { classify: null, teach: null, bench: null };
const loaders = {
  classify: async (root) => classifyView(root),
  teach: async (root) => (await import('./teach.js')).teachView(root),
  bench: async (root) => (await import('./bench.js')).benchView(root),
};
let active = 'classify';

async function show(name) {
  views[active]?.leave?.();
  active = name;
  for (const tab of document.querySelectorAll('.tab')) tab.setAttribute('aria-pressed', String(tab.dataset.view === name));
  for (const key of Object.keys(views)) document.getElementById(`view-${key}`).hidden = key !== name;
  if (!views[name]) {
    const root = document.getElementById(`view-${name}`);
    views[name] = { pending: true };
    try {
      views[name] = await loaders[name](root);
    } catch (err) {
      views[name] = null;
      notify(`The ${name} view could not start: ${plainError(err)}`, { kind: 'error', id: `view-${name}` });
    }
  }
  views[name]?.enter?.();
  document.body.dataset.view = name;
}

for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => show(tab.dataset.view));
document.addEventListener('paste', (e) => views[active]?.paste?.(e));

const fullscreen = document.getElementById('fullscreen');
if (!document.fullscreenEnabled) fullscreen.hidden = true;
fullscreen.addEventListener('click', () =>
  document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen().catch(() => {}),
);

// Kiosk: after two minutes (or ?idle=SECONDS) without touch, mouse or keys, stop the camera and go back to Classify.
const IDLE_MS = 1000 * (Number(new URLSearchParams(location.search).get('idle')) || 120);
let idleTimer = 0;
const idle = document.getElementById('idle-reset');
function armIdle() {
  clearTimeout(idleTimer);
  if (idle.checked) idleTimer = setTimeout(() => show('classify').then(() => views.classify?.leave?.()), IDLE_MS);
}
idle.checked = new URLSearchParams(location.search).has('kiosk');
for (const ev of ['pointerdown', 'keydown', 'wheel']) addEventListener(ev, armIdle, { passive: true });
idle.addEventListener('change', armIdle);
armIdle();

/**
 * What this browser offers beyond what vireo runs on today, as a plain line: shared memory (cross-origin
 * isolation, which threaded kernels will need) and a WebGPU adapter. The app works without either.
 */
async function describeEnvironment() {
  const parts = [
    crossOriginIsolated ? 'cross-origin isolated (shared memory)' : 'not cross-origin isolated: no shared memory, so no threads',
  ];
  const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  parts.push(adapter ? 'WebGPU available' : 'no WebGPU');
  document.getElementById('env').textContent = `This browser: ${parts.join(' · ')}. vireo runs on WebAssembly here.`;
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) {
    notify('This browser has no service workers: the app will not work offline.', { id: 'offline' });
    return;
  }
  try {
    await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    hooks.offlineReady = true;
  } catch (err) {
    notify(`Offline use is not available: ${plainError(err)}`, { id: 'offline' });
  }
}

async function main() {
  describeEnvironment();
  await show(new URLSearchParams(location.search).get('view') ?? 'classify');
  try {
    models.set('shipped', await loadShipped());
  } catch (err) {
    notify(`The shipped model could not be loaded: ${plainError(err)}`, { kind: 'error', id: 'shipped' });
  }
  // The taught model kept on this device, if any: Classify and Teach both offer it.
  try {
    const { restoreTaught } = await import('./teach-store.js');
    await restoreTaught();
  } catch (err) {
    notify(`Your taught model could not be read back: ${plainError(err)}`, { kind: 'error', id: 'restore' });
  }
  hooks.ready = true;
  document.body.dataset.ready = 'true';
  registerServiceWorker();
}

main();
