// Small DOM helpers shared by the views: element building, notices, top-k bars, downloads.

/** h('button', { type: 'button', onclick }, 'text', child): attributes starting with 'on' are listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/**
 * A plain message at the top of the page (announced by the aria-live region it lives in). `id` replaces the
 * notice with that id; kind 'error' for something that failed, 'info' for something missing the app works without.
 */
export function notify(text, { kind = 'info', id } = {}) {
  const box = document.getElementById('notices');
  if (id) box.querySelector(`[data-id="${id}"]`)?.remove();
  const note = h(
    'div',
    { class: `notice ${kind}`, dataset: { id: id ?? '', kind } },
    h('p', {}, text),
    h('button', { type: 'button', 'aria-label': 'Dismiss message', onclick: () => note.remove() }, '✕'),
  );
  box.append(note);
  return note;
}

export function clearNotice(id) {
  document.querySelector(`#notices [data-id="${id}"]`)?.remove();
}

/** What a failure means to a user, in one sentence, from the error the browser or vireo threw. */
export function plainError(err) {
  const name = err?.name ?? '';
  if (name === 'QuotaExceededError') return 'This device is out of storage space for the app: free some space and try again.';
  return err?.message ?? String(err);
}

/** The top-k list: label, bar and percentage per class. */
export function renderTopK(list, ranked, k = 5) {
  list.replaceChildren(
    ...ranked
      .slice(0, k)
      .map(({ label, p }) =>
        h(
          'li',
          {},
          h('span', { class: 'label' }, label),
          h(
            'span',
            { class: 'bar-track', 'aria-hidden': 'true' },
            h('span', { class: 'bar-fill', style: `width:${(100 * p).toFixed(1)}%` }),
          ),
          h('span', { class: 'p' }, `${(100 * p).toFixed(1)}%`),
        ),
      ),
  );
}

export function softmax(logits) {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Class probabilities, highest first. */
export function rank(probs, classes) {
  return Array.from(probs, (p, i) => ({ label: classes[i] ?? `class ${i}`, index: i, p })).sort((a, b) => b.p - a.p);
}

export function download(data, filename, type = 'application/octet-stream') {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A visually hidden file input behind a big labelled button (keyboard and touch reach it). */
export function fileButton(text, { accept, multiple = false, onfiles, id }) {
  const input = h('input', { type: 'file', class: 'file-input', accept, multiple, id });
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    if (files.length) onfiles(files);
  });
  const label = h('label', { class: 'button' }, text, input);
  return label;
}

export const yieldToBrowser = () => new Promise((r) => setTimeout(r, 0));
