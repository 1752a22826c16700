import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * The system's Chromium (`npm run setup -- --tests` installs it: Debian's and Fedora's `chromium`),
 * or VIT_CHROMIUM; playwright-core downloads no browser.
 */
export const CHROMIUM = process.env.VIT_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';

/**
 * Why this machine cannot run the browser tests, or null when it can. In CI (VIT_REQUIRE_CHROMIUM=1)
 * a missing browser is a failure, not a skip.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `${CHROMIUM} not found (install it with npm run setup -- --tests)`;
  if (process.env.VIT_REQUIRE_CHROMIUM === '1') throw new Error(`VIT_REQUIRE_CHROMIUM=1 but ${why}`);
  return why;
}

/**
 * Headless Chromium with nothing of its own going on: no sandbox (tests run as root in CI), no
 * GPU, no first-run, sync, component or background traffic. playwright gives it a fresh
 * profile (--user-data-dir in a temp folder) and removes it on close.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
