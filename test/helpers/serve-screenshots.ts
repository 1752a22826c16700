import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';

export interface ScreenshotPlan {
  /** The run whose best/ the Checkpoint and Try-it views show. */
  checkpoint: string;
  /** Images to drop on the Try-it view. */
  images: string[];
  /** Runs to overlay in the Curves view (default: those the page picks, the most recent four). */
  compare?: string[];
  /** Where the PNGs go (default docs/images). */
  outDir?: string;
}

/** A checkpoint's analysis over 10,000 test images with six-view TTA takes a minute or two on a 2-core CPU. */
const ANALYSIS_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * One PNG per view of a running `vit serve` (docs/images/serve-runs.png, -curves, -checkpoint,
 * -try, -sweeps), the README's pictures: the test takes them of its fixture runs
 * (VIT_SCREENSHOTS=1), scripts/serve-screenshots.ts of real ones.
 */
export async function takeScreenshots(browser: Browser, url: string, plan: ScreenshotPlan): Promise<string[]> {
  const outDir = plan.outDir ?? join('docs', 'images');
  await mkdir(outDir, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
  const written: string[] = [];
  const shoot = async (view: string) => {
    const path = join(outDir, `serve-${view}.png`);
    await page.screenshot({ path, fullPage: true });
    written.push(path);
  };
  try {
    await page.goto(`${url}#runs`);
    await page.waitForSelector('#runs-table tbody tr');
    if (plan.compare) {
      for (const box of await page.locator('#runs-table tbody input[type=checkbox]').all()) await box.uncheck();
      for (const id of plan.compare) await page.locator(`#runs-table tr[data-run="${id}"] input[type=checkbox]`).check();
    }
    await shoot('runs');

    await page.click('nav a[data-view=curves]');
    await page.waitForSelector('#curves-chart svg');
    await shoot('curves');

    await page.click('nav a[data-view=checkpoint]');
    await page.selectOption('#view-checkpoint .run-picker', plan.checkpoint);
    await page.selectOption('#view-checkpoint .which-picker', 'best');
    await page.waitForSelector('#checkpoint-facts strong');
    if (!(await page.locator('#wrong-images .card').count())) {
      await page.click('#analyze');
      await page.waitForSelector('#wrong-images .card, #wrong-images .empty', { timeout: ANALYSIS_TIMEOUT_MS });
    }
    await shoot('checkpoint');

    await page.click('nav a[data-view=try]');
    await page.setInputFiles('#upload', plan.images);
    await page.waitForFunction(`document.querySelectorAll('#predictions .card .bars, #predictions .card .error').length === ${plan.images.length}`, undefined, { timeout: ANALYSIS_TIMEOUT_MS });
    await shoot('try');

    await page.click('nav a[data-view=sweeps]');
    await page.waitForSelector('#leaderboard tbody tr, #sweeps-empty:not([hidden])');
    await page.waitForFunction("!document.querySelector('#leaderboard tbody tr') || document.querySelector('#leaderboard-chart svg')");
    await shoot('sweeps');
  } finally {
    await page.close();
  }
  return written;
}
