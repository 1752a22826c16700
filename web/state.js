// What the views share: the runs (kept current by the server's events), which are selected, the
// checkpoint in focus, a tiny event bus, and helpers for the API, charts and numbers.

export const state = {
  view: 'runs',
  folders: [],
  sweeps: [],
  dataDir: 'data',
  /** id -> run summary, as /api/runs and the `run` events give them */
  runs: new Map(),
  /** ids of the runs the Curves view overlays */
  selected: new Set(),
  /** the run whose checkpoint the Checkpoint and Try-it views show, and which one */
  focus: null,
  which: 'best',
  initialised: false,
};

const listeners = new Map();

export function on(event, fn) {
  listeners.set(event, [...(listeners.get(event) ?? []), fn]);
}

export function emit(event, data) {
  for (const fn of listeners.get(event) ?? []) fn(data);
}

/** One line at the top of the page; an empty message hides it. */
export function showMessage(text) {
  const el = document.getElementById('message');
  el.textContent = text ?? '';
  el.hidden = !text;
}

/** JSON from the server; a refusal or failure becomes an Error with the server's one-line reason. */
export async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), ...(init.method && init.method !== 'GET' ? { 'x-vit-serve': '1' } : {}) } });
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** Draws a vega-lite spec into `el` as SVG (so that tests and screen readers can read its marks). */
export async function draw(el, spec) {
  const { spec: compiled } = vegaLite.compile(spec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'svg', container: el, hover: true });
  await view.runAsync();
  el.__view?.finalize();
  el.__view = view;
  return view;
}

export function clear(el) {
  el.__view?.finalize();
  el.__view = null;
  el.replaceChildren();
}

export const pct = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(digits)}%`);

export function params(n) {
  if (n === null || n === undefined) return '—';
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

export function ago(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

/** Builds an element: el('td', { class: 'num' }, 'text', child…). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Fills the run pickers of the Checkpoint and Try-it views with the runs that have a checkpoint. */
export function fillCheckpointPickers() {
  const withCheckpoints = [...state.runs.values()].filter((r) => r.checkpoints.length).sort((a, b) => a.id.localeCompare(b.id));
  for (const picker of document.querySelectorAll('.run-picker')) {
    picker.replaceChildren(...withCheckpoints.map((r) => el('option', { value: r.id }, r.id)));
    if (state.focus) picker.value = state.focus;
  }
  for (const picker of document.querySelectorAll('.which-picker')) picker.value = state.which;
}

export function focusCheckpoint(id, which = state.which) {
  state.focus = id;
  state.which = which;
  fillCheckpointPickers();
  emit('focus');
}
