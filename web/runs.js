// The Runs view: every run found, filterable by name and family, sortable by any column; the
// boxes choose what the Curves view compares.
import { state, on, el, pct, params, ago, focusCheckpoint } from './state.js';

const STATE_ORDER = { live: 0, stopped: 1, finished: 2 };
let sortKey = 'updated';
let descending = true;

const sortValue = {
  id: (r) => r.id,
  family: (r) => r.family ?? '',
  params: (r) => r.params ?? -1,
  state: (r) => STATE_ORDER[r.state],
  epochs: (r) => r.epochs,
  bestVal: (r) => r.bestVal?.accuracy ?? -1,
  test: (r) => r.test?.accuracy ?? -1,
  settings: (r) => r.settings,
  updated: (r) => r.updated,
};

function shownRuns() {
  const text = document.getElementById('run-filter').value.trim().toLowerCase();
  const family = document.getElementById('family-filter').value;
  const runs = [...state.runs.values()].filter((r) => (!text || r.id.toLowerCase().includes(text)) && (!family || r.family === family));
  const key = sortValue[sortKey];
  runs.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    const order = typeof x === 'string' ? x.localeCompare(y) : x - y;
    return (descending ? -order : order) || a.id.localeCompare(b.id);
  });
  return runs;
}

function row(r) {
  const epochs = r.plannedEpochs ? `${r.epochs}/${r.plannedEpochs}` : String(r.epochs);
  const checkbox = el('input', {
    type: 'checkbox',
    checked: state.selected.has(r.id),
    'aria-label': `compare ${r.id}`,
    onchange: (e) => {
      if (e.target.checked) state.selected.add(r.id);
      else state.selected.delete(r.id);
    },
  });
  const actions = r.checkpoints.length
    ? el(
        'div',
        { class: 'run-actions' },
        el('a', { href: '#checkpoint', onclick: () => focusCheckpoint(r.id, r.checkpoints[0]) }, 'checkpoint'),
        el('a', { href: '#try', onclick: () => focusCheckpoint(r.id, r.checkpoints[0]) }, 'try it'),
        el('a', { href: `/files/${r.id.split('/').map(encodeURIComponent).join('/')}/config.json`, target: '_blank' }, 'config.json'),
      )
    : null;
  return el(
    'tr',
    { 'data-run': r.id, class: r.error ? 'has-error' : null },
    el('td', {}, checkbox),
    el('td', {}, el('div', { class: 'run-name' }, r.id), r.error ? el('div', { class: 'run-error' }, r.error) : null, actions),
    el('td', {}, r.family ?? '—'),
    el('td', { class: 'num' }, params(r.params)),
    el('td', { title: r.stateReason }, el('span', { class: `state ${r.state}` }, r.state)),
    el('td', { class: 'num' }, epochs),
    el('td', { class: 'num', title: r.bestVal ? `epoch ${r.bestVal.epoch}` : null }, r.bestVal ? `${pct(r.bestVal.accuracy)} (${r.bestVal.epoch})` : '—'),
    el('td', { class: 'num', title: r.test ? `${r.test.images} test images, from ${r.test.source}` : 'not evaluated: Analyze its best/ in the Checkpoint view, or save vit eval --json as best/eval.json' }, r.test ? pct(r.test.accuracy) : '—'),
    el('td', { class: 'settings', title: r.config.join('\n') }, r.settings),
    el('td', { class: 'muted' }, ago(r.updated)),
  );
}

function render() {
  const runs = shownRuns();
  document.querySelector('#runs-table tbody').replaceChildren(...runs.map(row));
  document.getElementById('run-count').textContent = `${runs.length} of ${state.runs.size} run${state.runs.size === 1 ? '' : 's'}`;
  const empty = document.getElementById('runs-empty');
  empty.hidden = state.runs.size > 0;
  empty.textContent = `No runs in ${state.folders.map((f) => `${f.given}/`).join(', ')} yet. Train one: npx vit train --config configs/smoke.json`;
  for (const th of document.querySelectorAll('#runs-table th[data-sort]')) {
    if (th.dataset.sort === sortKey) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  }
  const families = [...new Set([...state.runs.values()].map((r) => r.family).filter(Boolean))].sort();
  const familyFilter = document.getElementById('family-filter');
  const chosen = familyFilter.value;
  familyFilter.replaceChildren(el('option', { value: '' }, 'all families'), ...families.map((f) => el('option', { value: f }, f)));
  familyFilter.value = families.includes(chosen) ? chosen : '';
}

export function initRuns() {
  document.getElementById('run-filter').addEventListener('input', render);
  document.getElementById('family-filter').addEventListener('change', render);
  for (const th of document.querySelectorAll('#runs-table th[data-sort]')) {
    th.addEventListener('click', () => {
      descending = sortKey === th.dataset.sort ? !descending : th.dataset.sort !== 'id';
      sortKey = th.dataset.sort;
      render();
    });
  }
  document.getElementById('select-all').addEventListener('change', (e) => {
    for (const r of shownRuns()) {
      if (e.target.checked) state.selected.add(r.id);
      else state.selected.delete(r.id);
    }
    render();
  });
  document.getElementById('compare').addEventListener('click', () => (location.hash = '#curves'));
  on('runs', render);
  on('run', render);
}
