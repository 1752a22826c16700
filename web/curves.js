// The Curves view: the selected runs' loss, accuracy and learning rate, overlaid, redrawn when a
// selected run finishes an epoch (the server's `run` event).
import { state, on, el, api, draw, clear, showMessage } from './state.js';

let axis = 'epoch';
let pending = null;

async function refresh() {
  const chart = document.getElementById('curves-chart');
  const ids = [...state.selected];
  document.getElementById('curves-runs').replaceChildren(
    ...ids.map((id) =>
      el('span', { class: 'chip' }, id, el('button', { type: 'button', 'aria-label': `remove ${id}`, onclick: () => { state.selected.delete(id); refresh(); } }, '×')),
    ),
  );
  document.getElementById('curves-empty').hidden = ids.length > 0;
  if (!ids.length) {
    clear(chart);
    document.getElementById('curves-messages').replaceChildren();
    return;
  }
  try {
    const query = new URLSearchParams([...ids.map((id) => ['run', id]), ['x', axis]]);
    const { spec, messages } = await api(`/api/curves?${query}`);
    document.getElementById('curves-messages').replaceChildren(...messages.map((m) => el('li', {}, m.message)));
    if (spec) await draw(chart, spec);
    else clear(chart);
  } catch (err) {
    showMessage(`curves: ${err.message}`);
  }
}

/** A burst of events (several runs finishing an epoch together) redraws once. */
function refreshSoon() {
  clearTimeout(pending);
  pending = setTimeout(refresh, 200);
}

export function initCurves() {
  for (const radio of document.querySelectorAll('input[name=axis]')) {
    radio.addEventListener('change', () => {
      axis = radio.value;
      refresh();
    });
  }
  on('view', (name) => name === 'curves' && refresh());
  on('run', (summary) => state.view === 'curves' && state.selected.has(summary.id) && refreshSoon());
  on('runs', () => state.view === 'curves' && refreshSoon());
}
