/**
 * The pthread glue served for WASM threads (tools/wasmAssets.ts → tfjs-backend-wasm-threaded-simd.js beside the
 * binaries) must be the installed tfjs-backend-wasm's own unminified Emscripten module, marked with its version,
 * or the pthread workers would run code that does not match the main thread's (src/worker/wasmThreads.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { copyWasmAssets, installedGlue, wasmGlueText, WASM_BINARIES, WASM_GLUE } from '../../tools/wasmAssets.js';
import { glueVersion, loadPthreadGlue } from '../../src/worker/wasmThreads.js';
import { wasmGlueUrl, WASM_GLUE_FILE } from '../../src/worker/wasmFiles.js';

test('the served pthread glue is the installed tfjs-backend-wasm module, unminified, with its version', () => {
  const { version, source } = installedGlue();
  assert.equal(version, version_wasm, 'the installed package is the one the worker bundles');
  const text = wasmGlueText();
  assert.equal(glueVersion(text), version_wasm);
  assert.ok(text.endsWith(source), 'the module text follows the version statement unchanged');
  assert.ok(source.includes('function(WasmBackendModuleThreadedSimd)'), 'the Emscripten factory, not minified');
  // What the pthread worker evaluates (importScripts of the Blob) must define the factory it then calls.
  const defined = new Function(`${text}; return typeof WasmBackendModuleThreadedSimd;`)() as string;
  assert.equal(defined, 'function');
  // A minifier keeps the statement; a text without it is not ours.
  assert.equal(glueVersion('var PPTSN_WASM_GLUE_VERSION="1.2.3";var x=1'), '1.2.3');
  assert.equal(glueVersion(source), null);
});

test('the build copies the three binaries and the glue side by side', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptsn-wasm-'));
  try {
    copyWasmAssets(dir);
    for (const f of WASM_BINARIES) assert.ok(readFileSync(join(dir, f)).byteLength > 100_000, f);
    assert.equal(readFileSync(join(dir, WASM_GLUE), 'utf8'), wasmGlueText());
    assert.equal(WASM_GLUE, WASM_GLUE_FILE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the glue is looked for where the binaries are', () => {
  assert.equal(wasmGlueUrl('/node_modules/@tensorflow/tfjs-backend-wasm/dist/'), '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.js');
  assert.equal(wasmGlueUrl({ 'tfjs-backend-wasm-threaded-simd.wasm': 'https://x/a/t.wasm?v=1', 'tfjs-backend-wasm-threaded-simd.js': 'https://x/g.js' }), 'https://x/g.js');
  assert.equal(wasmGlueUrl({ 'tfjs-backend-wasm-threaded-simd.wasm': 'https://x/a/tfjs-backend-wasm-threaded-simd.wasm?v=1' }), 'https://x/a/tfjs-backend-wasm-threaded-simd.js?v=1');
  assert.equal(wasmGlueUrl({ 'tfjs-backend-wasm.wasm': 'https://x/a.wasm' }), null);
});

test('a missing, foreign or other-version glue is refused with a reason (threads then fall back to one)', async () => {
  const realFetch = globalThis.fetch;
  const bodies: Record<string, [number, string]> = {
    'http://t/missing.js': [404, ''],
    'http://t/foreign.js': [200, 'var WasmBackendModuleThreadedSimd = function(){};'],
    'http://t/old.js': [200, 'var PPTSN_WASM_GLUE_VERSION = "0.0.1";\nvar WasmBackendModuleThreadedSimd = function(){};'],
    'http://t/ok.js': [200, wasmGlueText()],
  };
  globalThis.fetch = (async (u: string) => new Response(bodies[u]![1], { status: bodies[u]![0] })) as typeof fetch;
  try {
    assert.match((await loadPthreadGlue([]) as { reason: string }).reason, /no URL/);
    assert.match((await loadPthreadGlue(['http://t/missing.js']) as { reason: string }).reason, /HTTP 404/);
    assert.match((await loadPthreadGlue(['http://t/foreign.js']) as { reason: string }).reason, /not pptsn-web's pthread glue/);
    assert.match((await loadPthreadGlue(['http://t/old.js']) as { reason: string }).reason, new RegExp(`for tfjs-backend-wasm 0\\.0\\.1, this app has ${version_wasm.replace(/\./g, '\\.')}`));
    assert.equal((await loadPthreadGlue(['http://t/ok.js']) as { text: string }).text, wasmGlueText());
    // The copy next to the worker is the fallback when the page's wasmPaths point where there is none (a CDN).
    assert.equal((await loadPthreadGlue(['http://t/missing.js', 'http://t/ok.js']) as { text: string }).text, wasmGlueText());
    const both = (await loadPthreadGlue(['http://t/missing.js', 'http://t/old.js']) as { reason: string }).reason;
    assert.match(both, /HTTP 404.*; .*0\.0\.1/);
  } finally {
    globalThis.fetch = realFetch;
  }
});
