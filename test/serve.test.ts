import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { vit } from './helpers/cli.js';
import { chromiumMissing, launchChromium } from './helpers/chromium.js';
import { type ServeFixtures, serveFixtures } from './helpers/serve-fixtures.js';
import { type ServeProcess, startServe } from './helpers/serve-process.js';

/**
 * `vit serve` in a real browser (Debian's chromium, driven by playwright-core): the page a user
 * opens, against the folders a user has (test/helpers/serve-fixtures.ts). Waits are for what the
 * page shows, never for a time.
 */
const missing = chromiumMissing();
const skip = missing ? `skipped: ${missing}` : false;
let fixtures: ServeFixtures;
let server: ServeProcess;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  if (missing) return;
  fixtures = await serveFixtures();
  server = await startServe([fixtures.checkpoints, fixtures.sweeps, '--data-dir', fixtures.dataDir]);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await fixtures?.cleanup();
});

const row = (id: string) => page.locator(`#runs-table tr[data-run="${id}"]`);
const cell = (id: string, column: number) => row(id).locator('td').nth(column);

/** Overlays exactly these runs in the Curves view, as a user ticking their boxes would. */
async function compare(ids: string[]): Promise<void> {
  await page.goto(`${server.url}#runs`);
  for (const box of await page.locator('#runs-table tbody input[type=checkbox]').all()) await box.uncheck();
  for (const id of ids) await row(id).locator('input[type=checkbox]').check();
  await page.click('#compare');
  await page.waitForSelector('#view-curves:not([hidden])');
}

/** Points drawn in the loss panel, per run (vega's SVG marks carry their data in aria-label). */
const LOSS_POINTS = '#curves-chart .concat_0_layer_1_marks [aria-roledescription=point]';

async function lossPoints(): Promise<Record<string, number>> {
  return page.locator(LOSS_POINTS).evaluateAll((points) => {
    const counts: Record<string, number> = {};
    for (const point of points) {
      const run = /run: ([^;]+);/.exec(point.getAttribute('aria-label') ?? '')?.[1] ?? '?';
      counts[run] = (counts[run] ?? 0) + 1;
    }
    return counts;
  });
}

/** Waits until the loss panel shows exactly these points per run (the expression runs in the page). */
function untilLossPoints(expected: Record<string, number>) {
  return page.waitForFunction(`(() => {
    const counts = {};
    for (const p of document.querySelectorAll(${JSON.stringify(LOSS_POINTS)})) {
      const run = /run: ([^;]+);/.exec(p.getAttribute('aria-label') ?? '')?.[1] ?? '?';
      counts[run] = (counts[run] ?? 0) + 1;
    }
    return JSON.stringify(counts) === ${JSON.stringify(JSON.stringify(expected))};
  })()`);
}

test('the Runs view lists the runs with their family, state, epochs and best val accuracy; it filters and sorts', { skip }, async () => {
  await row('checkpoints/vit-adamw').waitFor();
  for (const [id, family] of [['checkpoints/vit-adamw', 'ViT'], ['checkpoints/cct-muon', 'CCT']]) {
    const rows = (await readFile(join(fixtures.root, id, 'metrics.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    const best = rows.reduce((b, r) => (r[5] > b[5] ? r : b));
    assert.equal(await cell(id, 2).textContent(), family);
    assert.equal(await cell(id, 4).textContent(), 'finished');
    assert.equal(await cell(id, 5).textContent(), '30/30');
    assert.equal(await cell(id, 6).textContent(), `${(100 * best[5]).toFixed(2)}% (${best[0]})`);
  }
  assert.equal(await cell('checkpoints/live', 4).textContent(), 'live');
  assert.equal(await cell('checkpoints/tiny', 3).textContent(), '7.9k');

  await page.selectOption('#family-filter', 'CCT');
  assert.deepEqual(await page.locator('#runs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')).sort()), ['checkpoints/cct-muon', 'checkpoints/live']);
  await page.selectOption('#family-filter', '');
  await page.fill('#run-filter', 'trials');
  assert.equal(await page.locator('#runs-table tbody tr').count(), 4);
  await page.click('#runs-table th[data-sort=bestVal]');
  const order = await page.locator('#runs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
  assert.deepEqual(order, ['sweeps/lr/trials/003', 'sweeps/lr/trials/002', 'sweeps/lr/trials/001', 'sweeps/lr/trials/000']);
  await page.fill('#run-filter', '');
});

test('the Curves view overlays two runs with one point per epoch and split', { skip }, async () => {
  await compare(['checkpoints/vit-adamw', 'checkpoints/cct-muon']);
  await untilLossPoints({ 'checkpoints/vit-adamw': 60, 'checkpoints/cct-muon': 60 });
  assert.deepEqual(await lossPoints(), { 'checkpoints/vit-adamw': 60, 'checkpoints/cct-muon': 60 });
  await page.check('input[name=axis][value=minutes]');
  await page.waitForSelector('#curves-chart [aria-label*="wall-clock minutes"]');
  assert.deepEqual(await lossPoints(), { 'checkpoints/vit-adamw': 60, 'checkpoints/cct-muon': 60 });
  await page.check('input[name=axis][value=epoch]');
});

test("a live run's new epoch appears when its metrics.csv grows", { skip }, async () => {
  await compare(['checkpoints/live']);
  await untilLossPoints({ 'checkpoints/live': 6 });
  const epoch = await fixtures.appendEpoch();
  assert.equal(epoch, 4);
  // The server watches the file and sends an event; the page redraws: no reload, no polling.
  await untilLossPoints({ 'checkpoints/live': 8 });
  assert.deepEqual(await lossPoints(), { 'checkpoints/live': 8 });
  await page.goto(`${server.url}#runs`);
  assert.equal(await cell('checkpoints/live', 5).textContent(), '4/20');
});

test('a corrupt metrics.csv is a one-line message in the page, and the rest still shows', { skip }, async () => {
  const message = 'checkpoints/broken/metrics.csv line 3: expected 6 numbers, found "2,0.001,oops,0.3"';
  assert.equal(await row('checkpoints/broken').locator('.run-error').textContent(), message);
  await compare(['checkpoints/broken', 'checkpoints/vit-adamw']);
  await untilLossPoints({ 'checkpoints/vit-adamw': 60 });
  assert.deepEqual(await page.locator('#curves-messages li').allTextContents(), [message]);
});

test("the Checkpoint view shows vit eval's confusion matrix from eval.json, and computes it for a checkpoint without one", { skip }, async () => {
  await page.goto(`${server.url}#checkpoint`);
  await page.selectOption('#view-checkpoint .run-picker', 'checkpoints/tiny');
  await page.selectOption('#view-checkpoint .which-picker', 'last');
  await page.waitForSelector('#confusion-chart svg');
  const saved = JSON.parse(await readFile(join(fixtures.tiny, 'last', 'eval.json'), 'utf8')) as { accuracy: number; confusion: number[][] };
  assert.match((await page.textContent('#checkpoint-facts'))!, new RegExp(`test accuracy ${(100 * saved.accuracy).toFixed(2)}% on 30 images \\(from eval.json\\)`));
  assert.deepEqual(await confusionCells(), saved.confusion.flat());

  // best/ has no eval.json: Analyze runs it over the test set in the compute process.
  const expected = vit(['eval', '--checkpoint', join(fixtures.tiny, 'best'), '--data-dir', fixtures.dataDir, '--backend', 'cpu', '--json']);
  assert.equal(expected.code, 0, expected.stderr);
  const evaluation = JSON.parse(expected.stdout) as { accuracy: number; confusion: number[][] };
  await page.selectOption('#view-checkpoint .which-picker', 'best');
  await page.waitForSelector('#checkpoint-note:not([hidden])');
  await page.click('#analyze');
  await page.waitForSelector('#wrong-images .card');
  assert.match((await page.textContent('#checkpoint-facts'))!, new RegExp(`test accuracy ${(100 * evaluation.accuracy).toFixed(2)}% on 30 images \\(computed here\\)`));
  assert.deepEqual(await confusionCells(), evaluation.confusion.flat());
  const wrong = 30 - evaluation.confusion.reduce((sum, r, i) => sum + r[i], 0);
  const cards = page.locator('#wrong-images .card');
  assert.equal(await cards.count(), Math.min(12, wrong));
  for (const card of await cards.all()) {
    assert.equal(await card.locator('.guesses li').count(), 3);
    assert.ok(!(await card.locator('.guesses li').first().getAttribute('class'))?.includes('right'), 'a most-wrong image whose first guess is right');
  }
  await page.goto(`${server.url}#runs`);
  assert.equal(await cell('checkpoints/tiny', 7).textContent(), `${(100 * evaluation.accuracy).toFixed(2)}%`);
});

/** The counts printed in the confusion heatmap's cells, row by row. */
async function confusionCells(): Promise<number[]> {
  return page.locator('#confusion-chart .layer_1_marks text').evaluateAll((texts) =>
    texts
      .map((t) => ({ y: Number(/translate\([^,]+,([^)]+)\)/.exec(t.getAttribute('transform') ?? '')?.[1]), x: Number(/translate\(([^,]+),/.exec(t.getAttribute('transform') ?? '')?.[1]), n: Number(t.textContent) }))
      .sort((a, b) => a.y - b.y || a.x - b.x)
      .map((c) => c.n),
  );
}

test('Try it: an uploaded CIFAR-10 test image gets the class and probabilities vit predict gives it; a non-image gets a one-line error', { skip }, async () => {
  const image = 'docs/images/test-0-ship.png';
  const predicted = vit(['predict', '--checkpoint', join(fixtures.tiny, 'best'), image, '--top', '5', '--json']);
  assert.equal(predicted.code, 0, predicted.stderr);
  const [{ top }] = JSON.parse(predicted.stdout) as { top: { label: string; probability: number }[] }[];
  await page.goto(`${server.url}#try`);
  await page.selectOption('#view-try .run-picker', 'checkpoints/tiny');
  await page.selectOption('#view-try .which-picker', 'best');
  await page.setInputFiles('#upload', image);
  const card = page.locator('#predictions .card[data-file="test-0-ship.png"]');
  await card.locator('.bars').waitFor();
  assert.equal(await card.locator('.result .label').textContent(), top[0].label);
  assert.deepEqual(
    await card.locator('.bars li').evaluateAll((items) => items.map((li) => `${li.getAttribute('data-label')} ${li.querySelector('.pct')!.textContent}`)),
    top.map((g) => `${g.label} ${(100 * g.probability).toFixed(1)}%`),
  );
  assert.ok(await card.locator('canvas').count(), 'no attention map drawn');

  await page.setInputFiles('#upload', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
  const bad = page.locator('#predictions .card[data-file="notes.png"] .error');
  await bad.waitFor();
  assert.match((await bad.textContent())!, /^notes\.png: not a readable PNG or JPEG image \(.+\)$/);
});

test("the Sweeps view ranks a sweep's settings by mean best val accuracy over seeds", { skip }, async () => {
  await page.goto(`${server.url}#sweeps`);
  await page.waitForSelector('#leaderboard tbody tr');
  const rows = await page.locator('#leaderboard tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)));
  const vals = async (ids: string[]) => {
    const best = [];
    for (const id of ids) best.push(Math.max(...(await readFile(join(fixtures.root, id, 'metrics.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => Number(l.split(',')[5]))));
    const mean = (best[0] + best[1]) / 2;
    return `${(100 * mean).toFixed(2)}% ± ${(100 * Math.abs(best[0] - best[1]) / Math.SQRT2).toFixed(2)}%`;
  };
  assert.deepEqual(rows, [
    ['1', '0.003', '2', await vals(['sweeps/lr/trials/002', 'sweeps/lr/trials/003'])],
    ['2', '0.001', '2', await vals(['sweeps/lr/trials/000', 'sweeps/lr/trials/001'])],
  ]);
  await page.waitForSelector('#leaderboard-chart svg');
});

test('everything the page loads comes from vit serve itself, without a script error', { skip }, async () => {
  const foreign = requests.filter((url) => !url.startsWith(server.url) && !url.startsWith('data:') && !url.startsWith('blob:'));
  assert.deepEqual(foreign, []);
  assert.ok(requests.some((url) => url.endsWith('/vendor/vega.min.js')));
  assert.deepEqual(pageErrors, []);
});
