// vit serve's page: the shared state, the server's API and its live events, and the views.
// Plain ES modules, no build step; charts are vega-lite specs made by the server, drawn by vega.
import { state, emit, showMessage, api } from './state.js';
import { initRuns } from './runs.js';
import { initCurves } from './curves.js';
import { initCheckpoint } from './checkpoint.js';
import { initTry } from './try.js';
import { initSweeps } from './sweeps.js';

const VIEWS = ['runs', 'curves', 'checkpoint', 'try', 'sweeps'];

function showView() {
  const name = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'runs';
  state.view = name;
  for (const view of VIEWS) document.getElementById(`view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.view === name);
  emit('view', name);
}

function replaceRuns(summaries) {
  state.runs = new Map(summaries.map((s) => [s.id, s]));
  state.sweeps = [...new Set([...state.sweeps, ...summaries.map((s) => s.sweep).filter(Boolean)])].sort();
  for (const id of state.selected) if (!state.runs.has(id)) state.selected.delete(id);
  if (!state.initialised) {
    state.initialised = true;
    // To start with, the most recently active runs (at most four) are the ones compared.
    [...state.runs.values()].filter((r) => !r.error).sort((a, b) => b.updated - a.updated).slice(0, 4).forEach((r) => state.selected.add(r.id));
    state.focus = [...state.runs.values()].sort((a, b) => b.updated - a.updated).find((r) => r.checkpoints.length)?.id ?? null;
  }
  emit('runs');
}

/** Server-sent events: the run list, a run's new epoch, a checkpoint analysis's progress. */
function connect() {
  const connection = document.getElementById('connection');
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.classList.add('live');
  });
  source.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.classList.remove('live');
  });
  source.addEventListener('runs', (e) => replaceRuns(JSON.parse(e.data)));
  source.addEventListener('run', (e) => {
    const summary = JSON.parse(e.data);
    const isNew = !state.runs.has(summary.id);
    state.runs.set(summary.id, summary);
    emit(isNew ? 'runs' : 'run', summary);
  });
  source.addEventListener('job', (e) => emit('job', JSON.parse(e.data)));
}

async function main() {
  try {
    const info = await api('/api/runs');
    state.folders = info.folders;
    state.sweeps = info.sweeps;
    state.dataDir = info.dataDir;
    replaceRuns(info.runs);
  } catch (err) {
    showMessage(err.message);
  }
  initRuns();
  initCurves();
  initCheckpoint();
  initTry();
  initSweeps();
  window.addEventListener('hashchange', showView);
  showView();
  emit('runs');
  connect();
}

main();
