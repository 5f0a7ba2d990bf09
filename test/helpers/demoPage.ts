/**
 * The demo as a person opens it, for browser tests of its panels: a fresh Vite dev server (an empty dependency
 * cache, as after a clone), headless Chromium on `?autoload=0` with the wasm backend chosen, console errors and
 * main-frame navigations counted, and `settle()`: wait until no task runs, then the error the page shows, if any.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createServer } from 'vite';
import { CHROMIUM_FLAGS, ROOT } from './browser.js';

export interface DemoPage {
  page: Page;
  /** Console errors and page errors so far. */
  errors: string[];
  /** Main-frame navigations so far (the first load included). */
  navigations(): number;
  /** Waits for the progress box to hide; returns the page's error text, or null. */
  settle(timeout?: number): Promise<string | null>;
  close(): Promise<void>;
}

export async function openDemo(): Promise<DemoPage> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'pptsn-demo-'));
  const server = await createServer({ configFile: join(ROOT, 'demo/vite.config.ts'), cacheDir, logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
  await server.listen();
  const addr = server.httpServer!.address();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const errors: string[] = [];
  let navigations = 0;
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await page.goto(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/?autoload=0`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  await page.selectOption('#backend', 'wasm');
  return {
    page,
    errors,
    navigations: () => navigations,
    async settle(timeout = 180_000) {
      await page.waitForTimeout(300);
      await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden, undefined, { timeout, polling: 200 });
      return page.evaluate(() => {
        const e = document.getElementById('error') as HTMLElement;
        return e.hidden ? null : (document.getElementById('error-text')?.textContent ?? '');
      });
    },
    async close() {
      await browser.close();
      await server.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}
