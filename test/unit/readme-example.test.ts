/**
 * README.md's "The API in ten lines" typechecks against src/ as an app would write it: the block, its import
 * pointed at src/index.ts, inside an async function with the names it leaves to the reader declared (a File, a
 * MediaStream, ImageBitmaps, a Float32Array). A renamed option or method in the README fails here; the browser
 * test (test/browser/readme.test.ts) runs the same block.
 *
 *   node --import tsx --test test/unit/readme-example.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeBlock } from '../helpers/readme.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'test/.cache/readme-typecheck');

function typecheck(code: string): { status: number | null; out: string } {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'example.ts'), code);
  writeFileSync(join(DIR, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions: { noEmit: true }, include: ['example.ts'] }));
  try {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', DIR], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    // The project's own `tsc -p .` covers test/: leave no generated .ts behind for it.
    rmSync(DIR, { recursive: true, force: true });
  }
}

function program(block: string): string {
  return [
    "import { PPTSN } from '../../../src/index.js';",
    'declare const videoElementOrFileOrUrl: HTMLVideoElement | File | string;',
    'declare function show(x: unknown): void;',
    'declare const file: File, squatFile: File, lungeFile: File, webcamStream: MediaStream;',
    'declare const bitmap1: ImageBitmap, bitmap2: ImageBitmap, bitmap3: ImageBitmap, float32: Float32Array;',
    'export async function main(): Promise<void> {',
    block,
    '}',
    '',
  ].join('\n');
}

test("README's API in ten lines typechecks against the library's types", () => {
  const { code, importLine } = readmeBlock(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.equal(importLine, "import { PPTSN } from 'pptsn-web';", 'the block imports what the package exports');
  const r = typecheck(program(code));
  assert.equal(r.status, 0, r.out);
  // The check can fail: the same block with a misspelt option does not compile.
  const broken = typecheck(program(code.replace("strategy: 'head'", "strategy: 'heads'")));
  assert.notEqual(broken.status, 0, 'a wrong option must not typecheck');
  assert.match(broken.out, /heads/);
});
