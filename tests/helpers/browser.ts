import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.LOUPE_CHROMIUM ?? '/usr/bin/chromium';

/** Debian's chromium, never a downloaded one; undefined (with the reason) when it is absent. */
export async function launchChromium(): Promise<Browser | string> {
  if (!fs.existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (apt-get install -y chromium)`;
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
  });
}
