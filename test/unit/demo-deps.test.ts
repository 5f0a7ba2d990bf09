/**
 * The demo's dev server must know every dependency up front (issue 26): a dependency Vite discovers only when a
 * module first asks for it (the worker's `register_all_gradients.js` when Train is pressed, `@jsquash/jpeg` when a
 * rawframes JPEG is read) makes it re-optimise and, when the new bundle changes shared chunks, reload the page,
 * losing what the user did. This starts the demo's own Vite config with an empty dependency cache, requests every
 * module the page and its worker can reach (static imports, dynamic `import()`, `new URL(…, import.meta.url)` workers),
 * as a browser would on its first Train, and fails if Vite reports a dependency found late.
 *
 * No browser: the module graph over HTTP is what the browser would fetch, and it is the discovery that reloads.
 * Run: node --import tsx --test test/unit/demo-deps.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createServer } from 'vite';
import { ROOT } from '../helpers/browser.js';

/** Module URLs a transformed module refers to (Vite rewrites them to absolute paths). */
function referenced(code: string): string[] {
  const out = new Set<string>();
  const patterns = [/\bfrom\s*["'](\/[^"']+)["']/g, /\bimport\s*\(\s*["'](\/[^"']+)["']/g, /\bimport\s*["'](\/[^"']+)["']/g, /new URL\(\s*(?:\/\*[^*]*\*\/\s*)?["'](\/[^"']+)["']\s*,/g];
  for (const re of patterns) for (const m of code.matchAll(re)) out.add(m[1]!);
  return [...out];
}

test('the demo dev server discovers no dependency late (no "optimized dependencies changed. reloading")', { timeout: 300_000 }, async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'pptsn-demo-deps-'));
  const said: string[] = [];
  const logger = createLogger('info');
  const keep = (msg: string) => void said.push(msg);
  logger.info = keep;
  logger.warn = keep;
  logger.error = keep;
  const server = await createServer({
    configFile: join(ROOT, 'demo/vite.config.ts'),
    cacheDir,
    customLogger: logger,
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  try {
    await server.listen();
    const addr = server.httpServer!.address();
    const origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const html = await (await fetch(`${origin}/`)).text();
    const queue = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => new URL(m[1]!, `${origin}/`).pathname);
    const seen = new Set<string>();
    /** The optimiser's run (`?v=` hash) each pre-bundled dependency was served from, by path. */
    const depRuns = new Map<string, string>();
    while (queue.length > 0) {
      const url = queue.shift()!;
      // Pre-bundled dependencies are the optimiser's own output; assets (wasm, css) import nothing.
      if (seen.has(url) || url.includes(cacheDir) || /\.(wasm|css|json)(\?|$)/.test(url) || url.includes('?url')) continue;
      seen.add(url);
      const res = await fetch(origin + url);
      assert.ok(res.ok, `${url}: HTTP ${res.status}`);
      for (const u of referenced(await res.text())) {
        const abs = new URL(u, origin + url);
        if (abs.pathname.includes(cacheDir)) depRuns.set(abs.pathname.slice(abs.pathname.lastIndexOf('/') + 1), abs.searchParams.get('v') ?? '');
        queue.push(abs.pathname + abs.search);
      }
    }
    assert.ok([...seen].some((u) => u.includes('trainerEngine')), `the crawl reached the trainer's worker code (${seen.size} modules)`);
    assert.ok([...seen].some((u) => u.includes('core/frames/jpeg')), 'the crawl reached the JPEG decoder');
    // Discovery is debounced: let the optimiser settle before reading what it said.
    await server.waitForRequestsIdle?.();
    await new Promise((r) => setTimeout(r, 1500));
    const late = said.filter((m) => /new dependencies optimized|optimized dependencies changed|reloading/.test(m));
    assert.deepEqual(late, [], `dependencies found late (add them to demo/vite.config.ts optimizeDeps.include): ${late.join(' | ')}`);
    // A dependency found late is bundled by a second optimiser run: its imports carry another `?v=` hash than the
    // first run's (the page reloads when the second run changes the chunks the first run's modules share).
    const byRun = new Map<string, string[]>();
    for (const [dep, v] of depRuns) byRun.set(v, [...(byRun.get(v) ?? []), dep]);
    assert.equal(byRun.size, 1, `dependencies from more than one optimiser run (add the later ones to demo/vite.config.ts optimizeDeps.include): ${JSON.stringify(Object.fromEntries(byRun))}`);
    const optimizer = server.environments.client.depsOptimizer;
    assert.deepEqual(Object.keys(optimizer?.metadata.discovered ?? {}), [], 'no dependency waits to be optimised');
  } finally {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
