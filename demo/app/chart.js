// Two small canvas charts (hand-written: together shorter than wiring up a chart library): a line chart of
// series over steps (Teach's loss and accuracy) and horizontal bars (Benchmark's per-layer times).

function prepare(canvas) {
  const dpr = devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 200;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  // Labels a little smaller than the page's text, which is larger on a kiosk.
  const px = Math.round(0.8 * Number.parseFloat(getComputedStyle(document.documentElement).fontSize || '16'));
  ctx.font = `${px}px system-ui, sans-serif`;
  return { ctx, w, h };
}

/** series: [{ label, color, points: number[], max }] drawn over the same x range (one point per step). */
export function lineChart(canvas, series) {
  const { ctx, w, h } = prepare(canvas);
  const pad = { l: 8, r: 8, t: Math.round(1.8 * Number.parseFloat(ctx.font)), b: 8 };
  const n = Math.max(2, ...series.map((s) => s.points.length));
  let legendX = pad.l;
  for (const s of series) {
    const max = s.max ?? Math.max(1e-9, ...s.points);
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach((v, i) => {
      const x = pad.l + ((w - pad.l - pad.r) * i) / (n - 1);
      const y = pad.t + (h - pad.t - pad.b) * (1 - Math.min(v, max) / max);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    const last = s.points.at(-1);
    const text = `${s.label}${last === undefined ? '' : ` ${s.format ? s.format(last) : last.toFixed(3)}`}`;
    ctx.fillStyle = s.color;
    ctx.fillText(text, legendX, pad.t - 6);
    legendX += ctx.measureText(text).width + 16;
  }
}

/** rows: [{ label, value }] as bars, longest = full width; `unit` after each value. */
export function barChart(canvas, rows, unit = 'ms') {
  const rowH = Math.round(1.7 * Number.parseFloat(getComputedStyle(document.documentElement).fontSize || '16'));
  canvas.style.height = `${rows.length * rowH + 8}px`;
  const { ctx, w } = prepare(canvas);
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  const labelW = Math.min(11 * Number.parseFloat(ctx.font), w * 0.4);
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label, 4, y + rowH * 0.7);
    const bw = ((w - labelW - 5 * Number.parseFloat(ctx.font)) * r.value) / max;
    ctx.fillStyle = '#1d4e89';
    ctx.fillRect(labelW, y + 4, Math.max(1, bw), rowH - 8);
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(`${r.value.toFixed(3)} ${unit}`, labelW + bw + 6, y + rowH * 0.7);
  });
}
