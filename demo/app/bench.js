// The Benchmark view: vireo's forward pass at batch 1 on the reference CNN and on the shipped model, on every
// backend this browser has (the wasm builds relaxed / simd / scalar on one thread, relaxed on every core when
// the page is cross-origin isolated, WebGPU when the browser gives an adapter, the plain TypeScript reference
// backend, and 'auto', the scheduler's placement with its copies), per-layer times of the fastest as a chart,
// images per second, and the results as JSON. This is what a developer runs on the target device before shipping.
import { backendInfo, manualSeed, models } from '../vireo.browser.js';
import { barChart } from './chart.js';
import { loadShipped } from './models.js';
import { hooks } from './state.js';
import { download, h, notify, plainError, yieldToBrowser } from './ui.js';

/** What this browser can run, and a row for each backend it cannot, saying why. */
async function targets() {
  const list = [
    { backend: 'wasm', build: 'relaxed', threads: 1, runs: 20 },
    { backend: 'wasm', build: 'simd', threads: 1, runs: 20 },
    { backend: 'wasm', build: 'scalar', threads: 1, runs: 10 },
  ];
  const unavailable = [];
  const cores = navigator.hardwareConcurrency || 1;
  if (crossOriginIsolated && cores > 1) list.push({ backend: 'wasm', build: 'relaxed', threads: Math.min(cores, 8), runs: 20 });
  else
    unavailable.push({
      backend: 'wasm threads',
      status: crossOriginIsolated
        ? 'unavailable: this device reports one core'
        : 'unavailable: this page is not cross-origin isolated (no shared memory); serve it with COOP/COEP',
    });
  const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  if (adapter) list.push({ backend: 'webgpu', build: null, runs: 10 });
  else
    unavailable.push({
      backend: 'WebGPU',
      status:
        'gpu' in navigator
          ? 'unavailable: WebGPU without an adapter (GPU off or blocked)'
          : 'unavailable: this browser has no WebGPU',
    });
  // The scheduler times each layer on every backend and places the plan (copies where values cross).
  list.push({ backend: 'reference', build: null, runs: 3 }, { backend: 'auto', build: null, runs: 20 });
  return { list, unavailable };
}

const labelOf = (t) => (t.build ? `${t.backend} (${t.build}${t.threads > 1 ? `, ${t.threads} threads` : ''})` : t.backend);

/** The reference CNN (the classic CIFAR-10 network, 88.6 MFLOP per image) with seeded random weights. */
function referenceCnn() {
  manualSeed(0);
  return models.cifarNet();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function timeOne(net, shape, target) {
  await net.to(target.backend, target.build ? { build: target.build, threads: target.threads } : {});
  const info = (await net.currentBackend()).info();
  if (target.build && info.build !== target.build)
    throw new Error(`build '${target.build}' is not available here (got '${info.build}')`);
  const plan = await net.plan(shape);
  const x = [Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i))];
  // runAsync: a plan on webgpu awaits its pipelines and the logits' download (on wasm it is run()).
  for (let i = 0; i < 2; i++) await plan.runAsync(x);
  const times = [];
  for (let i = 0; i < target.runs; i++) {
    const t0 = performance.now();
    await plan.runAsync(x);
    times.push(performance.now() - t0);
    await yieldToBrowser();
  }
  const ms = median(times);
  return { ms, imagesPerSecond: 1000 / ms, runs: target.runs, flops: plan.totalFlops, placement: placementOf(plan), plan, x };
}

/** Where the plan's layers run and what crosses between backends: "wasm ×9", or "wasm ×7, reference ×2; 2 copies, 8.0 KB". */
function placementOf(plan) {
  const steps = plan.placement;
  const counts = {};
  for (const s of steps) if (s.kind === 'kernel') counts[s.backend] = (counts[s.backend] ?? 0) + 1;
  const copies = steps.filter((s) => s.kind === 'copy');
  const bytes = copies.reduce((a, c) => a + (c.bytes ?? 0), 0);
  const where = Object.entries(counts)
    .map(([b, n]) => `${b} ×${n}`)
    .join(', ');
  const text = copies.length ? `${where}; ${copies.length} copies, ${(bytes / 1024).toFixed(1)} KB` : `${where}; no copies`;
  return { layers: counts, copies: copies.length, copyBytes: bytes, text };
}

async function perLayer(plan, x, runs = 5) {
  const acc = [];
  for (let k = 0; k < runs; k++) {
    plan.runProfiled(x).layers.forEach((l, i) => {
      acc[i] ??= { name: l.name, op: l.op, samples: [] };
      acc[i].samples.push(l.ms);
    });
    await yieldToBrowser();
  }
  return acc.map((l) => ({ name: l.name, op: l.op, ms: median(l.samples) }));
}

export function benchView(root) {
  const runBtn = h('button', { type: 'button', class: 'primary', id: 'bench-run' }, 'Run benchmark');
  const exportBtn = h('button', { type: 'button', id: 'bench-export', disabled: true }, 'Export JSON');
  const status = h(
    'p',
    { id: 'bench-status', 'aria-live': 'polite' },
    'Runs each model at batch 1 on every backend; takes about a minute.',
  );
  const tbody = h('tbody');
  const table = h(
    'table',
    { id: 'bench-table' },
    h('caption', { class: 'sr-only' }, 'Time per picture by model and backend'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Model · backend'),
        h('th', { class: 'n' }, 'ms / picture'),
        h('th', { class: 'n' }, 'pictures / s'),
      ),
    ),
    tbody,
  );
  const layerTitle = h('h2', {}, 'Per layer');
  const chart = h('canvas', { class: 'chart', id: 'bench-layers', role: 'img', 'aria-label': 'Time per layer' });
  let result = null;
  hooks.bench.state = 'idle';

  async function run() {
    runBtn.disabled = true;
    exportBtn.disabled = true;
    hooks.bench.state = 'running';
    tbody.replaceChildren();
    const info = await backendInfo('wasm');
    result = {
      date: new Date().toISOString(),
      userAgent: navigator.userAgent,
      crossOriginIsolated,
      webgpu: 'gpu' in navigator,
      wasmFeatures: info.features ?? {},
      rows: [],
      layers: {},
    };
    const shipped = await loadShipped().catch((err) => {
      notify(`The shipped model could not be loaded: ${plainError(err)}`, { kind: 'error', id: 'bench' });
      return null;
    });
    const nets = [
      { name: 'reference CNN', net: referenceCnn(), shape: [1, 3, 32, 32] },
      ...(shipped ? [{ name: 'shipped model', net: shipped.model, shape: [1, ...shipped.meta.inputShape] }] : []),
    ];
    const { list, unavailable } = await targets();
    for (const { name, net, shape } of nets) {
      net.eval();
      let best = null;
      for (const target of list) {
        const label = labelOf(target);
        status.textContent = `Running ${name} on ${label}…`;
        await yieldToBrowser();
        let row;
        try {
          const r = await timeOne(net, shape, target);
          row = {
            model: name,
            backend: label,
            ms: r.ms,
            imagesPerSecond: r.imagesPerSecond,
            runs: r.runs,
            flops: r.flops,
            placement: r.placement,
            status: 'ok',
          };
          // Per-layer times come from runProfiled, which reads every step back at once: not on a GPU.
          const onGpu = Object.keys(r.placement.layers).includes('webgpu');
          if (!onGpu && (!best || r.ms < best.ms)) best = { ms: r.ms, target, label };
        } catch (err) {
          row = { model: name, backend: label, status: `unavailable: ${plainError(err)}` };
        }
        result.rows.push(row);
        addRow(row);
      }
      if (best) {
        status.textContent = `Timing each layer of ${name} on ${best.label}…`;
        // Moving the model to another backend released the plan timed there: plan it again on the fastest.
        const again = await timeOne(net, shape, { ...best.target, runs: 1 });
        result.layers[name] = { backend: best.label, rows: await perLayer(again.plan, again.x) };
      }
      net.releasePlans?.();
    }
    for (const f of unavailable) {
      const row = { model: 'all', ...f };
      result.rows.push(row);
      addRow(row);
    }
    drawLayers();
    status.textContent =
      'Done: the median time of one picture (batch 1) after two warm-up runs. Per-layer times below are for the fastest backend of each model.';
    hooks.bench.state = 'done';
    hooks.bench.result = result;
    runBtn.disabled = false;
    exportBtn.disabled = false;
  }

  function addRow(r) {
    const name = h(
      'td',
      {},
      r.model === 'all' ? r.backend : `${r.model} · ${r.backend}`,
      // Where auto put the layers (kernels per backend, copies between them).
      r.backend === 'auto' && r.placement ? h('div', { class: 'note' }, `placement: ${r.placement.text}`) : null,
    );
    if (r.status === 'ok')
      tbody.append(
        h(
          'tr',
          { dataset: { status: 'ok' } },
          name,
          h('td', { class: 'n' }, r.ms.toFixed(2)),
          h('td', { class: 'n' }, r.imagesPerSecond.toFixed(0)),
        ),
      );
    else tbody.append(h('tr', { dataset: { status: 'unavailable' } }, name, h('td', { class: 'note', colspan: '2' }, r.status)));
  }

  function drawLayers() {
    const entries = Object.entries(result.layers);
    layerTitle.textContent = entries.length
      ? `Per layer: ${entries.map(([m, l]) => `${m} on ${l.backend}`).join('; ')}`
      : 'Per layer';
    const rows = entries.flatMap(([model, l]) =>
      l.rows.map((r) => ({ label: `${model === 'reference CNN' ? 'ref' : 'shipped'} ${r.name}`, value: r.ms })),
    );
    barChart(chart, rows, 'ms');
  }

  runBtn.addEventListener('click', () =>
    run().catch((err) => {
      notify(`The benchmark stopped: ${plainError(err)}`, { kind: 'error', id: 'bench' });
      hooks.bench.state = 'error';
      runBtn.disabled = false;
    }),
  );
  exportBtn.addEventListener('click', () =>
    download(JSON.stringify(result, null, 2), 'vireo-benchmark.json', 'application/json'),
  );

  root.append(
    h('h2', {}, 'Benchmark this device'),
    h('div', { class: 'row' }, runBtn, exportBtn),
    status,
    h('div', { class: 'table-wrap' }, table),
    layerTitle,
    chart,
  );
  return {};
}
