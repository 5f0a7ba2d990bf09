/**
 * `npm start`'s first step: fetch PaddleVideo's released PP-TSN K400 weights once, with the CLI's `download`
 * (SHA-256 recorded, progress on a terminal, `.part` removed on failure), and convert them into weights/pptsn-k400/
 * so the demo classifies with real weights right away. Skipped when they are there; when the host cannot be
 * reached (offline, CI) it prints one line and exits 0: the demo must start without network.
 *
 * PPTSN_WEIGHTS_URL overrides the URL (tests use a local stand-in), PPTSN_WEIGHTS_DIR the folder,
 * PPTSN_SKIP_WEIGHTS=1 skips the step.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convert } from '../src/cli/convert.js';
import { downloadFile, progressPrinter, RELEASES } from '../src/cli/download.js';
import { cleanUpOnInterrupt } from '../src/node/cleanup.js';

const dir = process.env['PPTSN_WEIGHTS_DIR'] ?? fileURLToPath(new URL('../weights/pptsn-k400', import.meta.url));
const url = process.env['PPTSN_WEIGHTS_URL'] ?? RELEASES['pptsn-k400'];
const say = (line: string) => process.stderr.write(`pptsn-web demo: ${line}\n`);

async function run(): Promise<void> {
  if (process.env['PPTSN_SKIP_WEIGHTS'] === '1') return;
  if (existsSync(join(dir, 'model.json'))) {
    say(`PP-TSN K400 weights present in ${dir}`);
    return;
  }
  let file;
  try {
    // A quick reachability check first: where DNS or the route hangs (some sandboxes), give up after 10 s
    // instead of holding up `npm start`.
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => {
      throw new Error((e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message);
    });
    file = await downloadFile(url, dir, process.stderr.isTTY ? progressPrinter(`downloading ${url}`) : undefined);
  } catch (e) {
    say(`could not download the K400 weights (${(e as Error).message.replace(/\s*\n\s*/g, ' ')}); starting without them — the page's "Get PP-TSN K400 weights" button or 'npx pptsn-web download pptsn-k400 -o weights/pptsn-k400' can fetch them later`);
    return;
  }
  try {
    await convert({ input: file.path, outDir: dir, labels: 'kinetics400', log: say });
    say(`downloaded ${url} (sha256 ${file.sha256})`);
  } finally {
    // The converted model.json + shards are what the demo loads; the raw .pdparams is not needed twice.
    await rm(file.path, { force: true });
  }
}

cleanUpOnInterrupt();
run().catch((e: unknown) => {
  // Never block `npm start`: a failed conversion is reported and the demo starts anyway.
  say(`K400 weights not prepared: ${(e as Error).message}`);
});
