// The Sweeps view: a sweep folder's leaderboard, its trials grouped by their settings, the mean ±
// standard deviation of their best validation accuracy over seeds; a group's trials can be
// compared in the Curves view.
import { state, on, el, api, draw, clear, pct, showMessage } from './state.js';

async function load() {
  const picker = document.getElementById('sweep-picker');
  const table = document.getElementById('leaderboard');
  document.getElementById('sweeps-empty').hidden = state.sweeps.length > 0;
  picker.hidden = table.hidden = state.sweeps.length === 0;
  if (!state.sweeps.length) return;
  if (!state.sweeps.includes(picker.value)) picker.replaceChildren(...state.sweeps.map((s) => el('option', { value: s }, s)));
  try {
    const { leaderboard, trials, chart } = await api(`/api/sweep?${new URLSearchParams({ id: picker.value })}`);
    document.getElementById('sweep-note').textContent = `${trials} trial${trials === 1 ? '' : 's'} in ${leaderboard.rows.length} setting${leaderboard.rows.length === 1 ? '' : 's'}, grouped by ${leaderboard.keys.join(', ') || '(nothing: the trials differ only in seed)'} (${leaderboard.keySource})`;
    table.querySelector('thead').replaceChildren(
      el('tr', {}, el('th', { class: 'num' }, '#'), ...leaderboard.keys.map((k) => el('th', {}, k)), el('th', { class: 'num' }, 'trials'), el('th', { class: 'num' }, 'best val, mean ± std'), el('th', { class: 'num' }, 'best trial'), el('th', { class: 'num' }, 'test, mean'), el('th', {}, 'state'), el('th', {}, '')),
    );
    table.querySelector('tbody').replaceChildren(
      ...leaderboard.rows.map((row) =>
        el(
          'tr',
          { 'data-rank': row.rank },
          el('td', { class: 'num' }, String(row.rank)),
          ...leaderboard.keys.map((k) => el('td', {}, JSON.stringify(row.settings[k]))),
          el('td', { class: 'num' }, String(row.trials.length)),
          el('td', { class: 'num' }, row.meanVal === null ? '—' : `${pct(row.meanVal)}${row.stdVal === null ? '' : ` ± ${pct(row.stdVal)}`}`),
          el('td', { class: 'num' }, pct(row.bestVal)),
          el('td', { class: 'num' }, pct(row.meanTest)),
          el('td', {}, `${row.finished} finished${row.live ? `, ${row.live} live` : ''}`),
          el('td', {}, el('a', { href: '#curves', onclick: () => { state.selected = new Set(row.trials); } }, 'curves')),
        ),
      ),
    );
    const chartEl = document.getElementById('leaderboard-chart');
    if (chart) await draw(chartEl, chart);
    else clear(chartEl);
  } catch (err) {
    showMessage(err.message);
  }
}

export function initSweeps() {
  document.getElementById('sweep-picker').addEventListener('change', load);
  on('view', (name) => name === 'sweeps' && load());
  on('run', (summary) => state.view === 'sweeps' && summary.sweep && load());
}
