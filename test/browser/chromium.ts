import fs from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import type { ConvoyOptions } from '../../src/config.ts';

/** Debian's Chromium (installed by .ci/run); never a downloaded browser. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

/** Launches headless Debian Chromium through playwright-core. */
export function launch(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Debian chromium is not installed (.ci/run installs it)');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A running app the browser tests visit. */
export interface Served {
  port: number;
  close(): Promise<unknown>;
}

/**
 * The same project served twice — production from the build's manifest, debug with individual
 * files — and a browser, all closed when the test ends: what a "bundled page = debug page" test needs.
 */
export async function prodAndDebug(t: TestContext, app: (options: ConvoyOptions) => Promise<Served>) {
  const prod = await app({ staticRoot: 'public/static', carpoolCombineDuringRequest: false });
  const debug = await app({ staticRoot: 'public/debug', debug: true });
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    await prod.close();
    await debug.close();
  });
  return { prod, debug, browser };
}
