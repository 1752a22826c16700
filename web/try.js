// The Try-it view: images dropped or picked are sent one by one to the server, which classifies
// them with the chosen checkpoint exactly as `vit predict` does (same reading, same test-time
// augmentation): the top 5 classes and where the model looks.
import { state, el, api, pct } from './state.js';
import { drawInput } from './heatmap.js';

async function classify(file) {
  const status = el('div', { class: 'result muted' }, `${file.name}: classifying…`);
  const card = el('div', { class: 'card wide', 'data-file': file.name }, el('figure', {}, el('img', { class: 'original', src: URL.createObjectURL(file), alt: file.name }), el('figcaption', { class: 'caption' }, file.name)), status);
  document.getElementById('predictions').prepend(card);
  if (!state.focus) return status.replaceWith(el('div', { class: 'result error' }, 'no checkpoint to classify with'));
  try {
    const result = await api(`/api/predict?${new URLSearchParams({ run: state.focus, which: state.which, name: file.name })}`, {
      method: 'POST',
      headers: { 'content-type': file.type || 'application/octet-stream' },
      body: file,
    });
    const input = el('canvas', { 'aria-label': `what the model sees in ${file.name}` });
    await drawInput(input, result.input, result.map);
    status.replaceWith(
      el('figure', {}, input, el('figcaption', { class: 'caption' }, result.map ? `32×32 input · ${result.attention}` : '32×32 input')),
      el(
        'div',
        { class: 'result' },
        el('div', { class: 'label' }, result.top[0].label),
        el('div', { class: 'caption' }, `${state.focus}/${state.which}`),
        el(
          'ul',
          { class: 'bars' },
          ...result.top.map((g) =>
            el('li', { 'data-label': g.label }, el('span', {}, g.label), el('span', { class: 'track' }, el('span', { class: 'bar', style: `display: block; width: ${(100 * g.probability).toFixed(1)}%` })), el('span', { class: 'pct' }, pct(g.probability, 1))),
          ),
        ),
      ),
    );
  } catch (err) {
    status.replaceWith(el('div', { class: 'result error' }, err.message));
  }
}

async function classifyAll(files) {
  for (const file of files) await classify(file);
}

export function initTry() {
  const drop = document.getElementById('drop');
  const upload = document.getElementById('upload');
  upload.addEventListener('change', () => {
    classifyAll([...upload.files]);
    upload.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    classifyAll([...e.dataTransfer.files]);
  });
  drop.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && upload.click());
}
