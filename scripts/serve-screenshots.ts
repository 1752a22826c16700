/**
 * The README's pictures of `vit serve`: one PNG per view (docs/images/serve-runs.png, -curves,
 * -checkpoint, -try, -sweeps), taken in Chromium from a running `vit serve`.
 *
 *   npx tsx scripts/serve-screenshots.ts                 checkpoints/ (and sweeps/): the README's cpu-1h run
 *   npx tsx scripts/serve-screenshots.ts --fixtures      the runs the tests of vit serve make
 *
 * Options: --checkpoint RUN (the run whose best/ the Checkpoint and Try-it views show; default
 * checkpoints/cpu-1h), --compare RUN,RUN (the runs the Curves view overlays), --data-dir DIR,
 * --out DIR (default docs/images). Needs Chromium (npm run setup -- --tests).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/helpers/chromium.js';
import { serveFixtures } from '../test/helpers/serve-fixtures.js';
import { startServe } from '../test/helpers/serve-process.js';
import { takeScreenshots } from '../test/helpers/serve-screenshots.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    fixtures: { type: 'boolean', default: false },
    checkpoint: { type: 'string' },
    compare: { type: 'string' },
    'data-dir': { type: 'string', default: 'data' },
    out: { type: 'string', default: 'docs/images' },
  },
});

const IMAGES = ['docs/images/test-0-ship.png', 'docs/images/test-1-deer.png', 'docs/images/test-3-frog.png', 'docs/images/test-5-airplane.png'];

const fixtures = values.fixtures ? await serveFixtures() : null;
const dirs = fixtures ? [fixtures.checkpoints, fixtures.sweeps] : positionals.length ? positionals : ['checkpoints', ...(existsSync('sweeps') ? ['sweeps'] : [])];
const server = await startServe([...dirs, '--data-dir', fixtures?.dataDir ?? values['data-dir']]);
const browser = await launchChromium();
try {
  const written = await takeScreenshots(browser, server.url, {
    checkpoint: values.checkpoint ?? (fixtures ? 'checkpoints/tiny' : 'checkpoints/cpu-1h'),
    compare: values.compare?.split(',') ?? (fixtures ? ['checkpoints/vit-adamw', 'checkpoints/cct-muon', 'checkpoints/live'] : undefined),
    images: fixtures ? IMAGES.slice(0, 3) : IMAGES,
    outDir: values.out,
  });
  console.log(`written: ${written.join(' ')}`);
} finally {
  await browser.close();
  await server.stop();
  await fixtures?.cleanup();
}
