// The Checkpoint view: per-class accuracy and the confusion matrix of a run's best/ or last/
// (its eval.json, or computed on the test set by the server's compute process, with progress),
// the test images it gets most wrong with its top 3, and where it looks in them.
import { state, on, el, api, draw, clear, pct, params, showMessage, fillCheckpointPickers, focusCheckpoint } from './state.js';
import { drawInput } from './heatmap.js';

let current = null;
let loading = 0;

async function load() {
  const id = state.focus;
  const note = document.getElementById('checkpoint-note');
  const facts = document.getElementById('checkpoint-facts');
  const analyze = document.getElementById('analyze');
  if (!id) {
    current = null;
    facts.textContent = '';
    note.hidden = false;
    note.textContent = 'No run has a checkpoint yet.';
    analyze.hidden = true;
    renderReport(null);
    return;
  }
  const ticket = ++loading;
  try {
    const view = await api(`/api/checkpoint?${new URLSearchParams({ run: id, which: state.which })}`);
    if (ticket !== loading) return;
    current = view;
    analyze.hidden = false;
    facts.replaceChildren(
      el('strong', {}, `${view.run}/${view.which}`),
      ` · epoch ${view.epoch ?? '?'} · ${view.family ?? '?'} · ${params(view.params)} parameters`,
      view.report ? ` · test accuracy ${pct(view.report.accuracy)} on ${view.report.images} images (${view.report.source === 'eval.json' ? 'from eval.json' : 'computed here'})` : '',
    );
    note.hidden = Boolean(view.report);
    note.textContent = `Not evaluated yet. Analyze runs it over the CIFAR-10 test set in ${state.dataDir}/ (as vit eval does: the run's test-time augmentation and data.limit_test), or save vit eval --json as ${view.run}/${view.which}/eval.json.`;
    analyze.textContent = view.mostWrong ? 'Analyze again' : 'Analyze on the test set';
    showJob(view.job);
    await renderReport(view);
  } catch (err) {
    if (ticket !== loading) return;
    current = null;
    facts.textContent = '';
    note.hidden = false;
    note.textContent = err.message;
    renderReport(null);
  }
}

async function renderReport(view) {
  const confusion = document.getElementById('confusion-chart');
  const perClass = document.getElementById('per-class-chart');
  if (view?.charts) {
    await draw(confusion, view.charts.confusion);
    await draw(perClass, view.charts.perClass);
  } else {
    clear(confusion);
    clear(perClass);
  }
  const wrong = view?.mostWrong ?? null;
  document.getElementById('wrong-title').hidden = !wrong;
  const toggle = document.getElementById('wrong-attention-toggle');
  toggle.hidden = !(wrong && view.attention);
  toggle.querySelector('span').textContent = `show where it looks (${view?.attention ?? ''})`;
  await renderWrong(wrong);
}

async function renderWrong(wrong) {
  const cards = document.getElementById('wrong-images');
  if (!wrong) return cards.replaceChildren();
  if (!wrong.length) return cards.replaceChildren(el('p', { class: 'empty' }, 'It gets every test image right.'));
  const withMaps = document.getElementById('wrong-attention').checked;
  const built = [];
  for (const image of wrong) {
    const canvas = el('canvas', { 'aria-label': `test image ${image.index}` });
    await drawInput(canvas, image.image, withMaps ? image.map : null);
    built.push(
      el(
        'div',
        { class: 'card', 'data-index': image.index },
        canvas,
        el('div', { class: 'label' }, `true: ${image.label}`),
        el('div', { class: 'caption' }, `test image ${image.index}`),
        el('ol', { class: 'guesses' }, ...image.top.map((g) => el('li', { class: g.label === image.label ? 'right' : null }, el('span', {}, g.label), el('span', {}, pct(g.probability, 1))))),
      ),
    );
  }
  cards.replaceChildren(...built);
}

function showJob(job) {
  const progress = document.getElementById('analyze-progress');
  const status = document.getElementById('analyze-status');
  const analyze = document.getElementById('analyze');
  const running = job?.state === 'running';
  progress.hidden = !running;
  analyze.disabled = running;
  if (running) {
    progress.max = job.total || 1;
    progress.value = job.done;
    status.textContent = job.total ? `${job.done} / ${job.total} test images` : 'loading the model and the test set…';
  } else status.textContent = job?.state === 'error' ? job.message : '';
}

export function initCheckpoint() {
  for (const picker of document.querySelectorAll('.run-picker')) picker.addEventListener('change', () => focusCheckpoint(picker.value));
  for (const picker of document.querySelectorAll('.which-picker')) picker.addEventListener('change', () => focusCheckpoint(state.focus, picker.value));
  document.getElementById('analyze').addEventListener('click', async () => {
    if (!state.focus) return;
    try {
      showJob(await api(`/api/analyze?${new URLSearchParams({ run: state.focus, which: state.which })}`, { method: 'POST' }));
    } catch (err) {
      showMessage(err.message);
    }
  });
  document.getElementById('wrong-attention').addEventListener('change', () => renderWrong(current?.mostWrong ?? null));
  on('runs', fillCheckpointPickers);
  on('focus', () => state.view === 'checkpoint' && load());
  on('view', (name) => name === 'checkpoint' && load());
  on('job', (job) => {
    if (job.run !== state.focus || job.which !== state.which || state.view !== 'checkpoint') return;
    showJob(job);
    if (job.state !== 'running') load();
  });
}
