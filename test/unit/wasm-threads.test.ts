/**
 * The pthread glue shipped for WASM threads (src/worker/wasmPthreadGlue.ts) must be the installed
 * tfjs-backend-wasm's own unminified Emscripten factory, or the pthread workers would run code that does not match
 * the main thread's. Regenerate with `node --import tsx test/helpers/wasmGlue.ts` after upgrading tfjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GLUE_MODULE, glueModuleText, installedGlue } from '../helpers/wasmGlue.js';
import { PTHREAD_GLUE_SOURCE, PTHREAD_GLUE_VERSION } from '../../src/worker/wasmPthreadGlue.js';

test('the committed pthread glue is the installed tfjs-backend-wasm factory, unminified', () => {
  const { version, source } = installedGlue();
  assert.equal(PTHREAD_GLUE_VERSION, version, 'regenerate src/worker/wasmPthreadGlue.ts for this tfjs-backend-wasm');
  assert.equal(PTHREAD_GLUE_SOURCE, source);
  assert.equal(readFileSync(GLUE_MODULE, 'utf8'), glueModuleText());
  // What the pthread worker evaluates must define the factory it then calls.
  const defined = new Function(`var WasmBackendModuleThreadedSimd = ${PTHREAD_GLUE_SOURCE}; return typeof WasmBackendModuleThreadedSimd;`)() as string;
  assert.equal(defined, 'function');
});
