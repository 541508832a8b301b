// The service worker: precaches every file of the app at install (the list and its version are written in by
// scripts/build-demo.mjs), then answers from the cache first, so after one visit the app starts and works
// with the network off. A new build has a new version: the new worker caches it and drops the old cache.
const PRECACHE = /* precache */ { version: 'dev', files: [] } /* end */;
const CACHE = `vireo-app-${PRECACHE.version}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.files.map((f) => new Request(f, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('vireo-app-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // Pages are cached without their query (?view=teach, ?kiosk); everything else as requested.
      const hit = await cache.match(request, { ignoreSearch: request.mode === 'navigate' });
      return hit ?? fetch(request);
    })(),
  );
});
