// The app: three views behind tabs (Classify loads first; Teach and Benchmark load when opened), the
// service worker that keeps it working offline, full screen, and the kiosk's idle reset.
import { classifyView } from './classify.js';
import { loadShipped } from './models.js';
import { hooks, models } from './state.js';
import { clearNotice, h, notify, plainError } from './ui.js';

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

// Full screen: the button says whether the page is full screen (aria-pressed); a refusal (a browser or a
// kiosk policy that does not allow it) is a plain message, never an unhandled error.
const fullscreen = document.getElementById('fullscreen');
if (!document.fullscreenEnabled) fullscreen.hidden = true;
const showFullscreen = () => fullscreen.setAttribute('aria-pressed', String(Boolean(document.fullscreenElement)));
showFullscreen();
document.addEventListener('fullscreenchange', showFullscreen);
fullscreen.addEventListener('click', async () => {
  try {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await document.documentElement.requestFullscreen();
    clearNotice('fullscreen');
  } catch (err) {
    notify(`Full screen is not available here: ${plainError(err)}`, { id: 'fullscreen' });
  }
  showFullscreen();
});

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

/**
 * A new build took over (its service worker replaces the old one at once, see sw.js): this page still runs
 * the old files, so offer a reload. What the user made is kept over it (the taught model and the pictures
 * live in IndexedDB).
 */
function offerUpdate() {
  if (hooks.updateReady) return;
  hooks.updateReady = true;
  const note = notify('A new version of the app is installed. Your model and pictures stay on this device.', {
    id: 'update',
  });
  note
    .querySelector('p')
    .append(' ', h('button', { type: 'button', id: 'update-reload', onclick: () => location.reload() }, 'Reload now'));
}

// The worker that served this page, read first thing; a different one taking control later is a new version
// (a first visit has none, and its worker taking control is no update).
const servedBy = navigator.serviceWorker?.controller ?? null;
const changed = () => servedBy && navigator.serviceWorker.controller !== servedBy && offerUpdate();
navigator.serviceWorker?.addEventListener('controllerchange', changed);

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) {
    notify('This browser has no service workers: the app will not work offline.', { id: 'offline' });
    return;
  }
  try {
    const registration = await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    hooks.offlineReady = true;
    changed(); // it may have taken over before the listener was added
    // A kiosk may never navigate: look for a new version every hour as well.
    setInterval(() => registration.update().catch(() => {}), 3600_000);
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
