/**
 * The layering of src/ (docs/architecture.md's layer table, `LAYER_TABLE` in test/helpers/importGraph.ts): each
 * folder imports only the folders below it (core only core, with no Node built-in or DOM global; cli and node never
 * worker, video or api; video never worker; nothing below the page reaches api), and there is no import cycle in
 * src/, bench/ or demo/, type-only imports included. Read from the sources, so a new file is covered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { coreHostUse, importCycles, importSpecifiers, layerViolations, readImportGraph, readSources, upwardImports, valueImportsInto, type ImportGraph } from '../helpers/importGraph.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('the parser finds every kind of import, type-only and dynamic, and none in comments', () => {
  const text = `import * as tf from '@tensorflow/tfjs-core';
import type { A } from './a.js';
import { type B, c } from "../b.js";
export { d } from './d.js';
export type { E } from './e.js';
export * from './f.js';
import './side.js';
const g = await import('./g.js');
type H = import('./h.js').H;
const i = await import(/* @vite-ignore */ './i.js');
import {
  j,
  k,
} from './jk.js';
// import { no } from './comment.js';
/** import { no } from './doc.js'; */
const url = 'http://x/y'; // a string with // in it
`;
  assert.deepEqual(importSpecifiers(text).sort(), ['../b.js', './a.js', './d.js', './e.js', './f.js', './g.js', './h.js', './i.js', './jk.js', './side.js', '@tensorflow/tfjs-core'].sort());
});

test('the checks fail on a bad graph: an upward import and cycles (direct, through three modules, and type-only)', () => {
  const bad: ImportGraph = new Map([
    ['api/pptsn.ts', ['worker/engine.ts', 'common/types.ts']],
    ['worker/engine.ts', ['worker/trainerEngine.ts', 'api/types.ts']],
    ['worker/trainerEngine.ts', ['worker/engine.ts']],
    ['video/a.ts', ['video/b.ts']],
    ['video/b.ts', ['video/c.ts']],
    ['video/c.ts', ['video/a.ts']],
    ['core/self.ts', ['core/self.ts']],
    ['common/types.ts', []],
    ['api/types.ts', ['common/types.ts']],
  ]);
  assert.deepEqual(upwardImports(bad), ['worker/engine.ts → api/types.ts']);
  assert.deepEqual(importCycles(bad).sort(), [['core/self.ts'], ['video/a.ts', 'video/b.ts', 'video/c.ts'], ['worker/engine.ts', 'worker/trainerEngine.ts']]);
  // And the same graph with those edges removed passes.
  const good: ImportGraph = new Map([...bad].map(([k, v]) => [k, v.filter((d) => !d.startsWith('api/') || k.startsWith('api/')).filter((d) => !(k === 'worker/trainerEngine.ts' || k === 'video/c.ts' || k === 'core/self.ts'))]));
  assert.deepEqual(upwardImports(good), []);
  assert.deepEqual(importCycles(good), []);
});

test('src/: nothing below the page API imports src/api, and there is no import cycle (type-only included)', () => {
  const graph = readImportGraph(SRC);
  assert.ok(graph.size > 50, `read ${graph.size} modules`);
  assert.ok(graph.get('worker/engine.ts')?.includes('worker/trainerEngine.ts'), 'dynamic and type imports are edges');
  assert.deepEqual(upwardImports(graph), [], 'core, video, worker, node, cli and common must not import src/api: put shared types in src/common/types.ts');
  assert.deepEqual(importCycles(graph), [], 'import cycles in src/ (move the shared type or function to a module both can import)');
});

test('the layer table fails on a fake graph breaking each rule, and passes without those edges', () => {
  const edges: [string, string][] = [
    ['core/model/a.ts', 'node/files.ts'], // core imports only core
    ['core/model/a.ts', 'common/types.ts'],
    ['cli/x.ts', 'worker/protocol.ts'], // cli and node never import worker, video or api
    ['cli/x.ts', 'video/frames.ts'],
    ['cli/x.ts', 'api/types.ts'],
    ['node/y.ts', 'worker/queue.ts'],
    ['node/y.ts', 'video/demux.ts'],
    ['node/y.ts', 'api/pptsn.ts'],
    ['video/z.ts', 'worker/engine.ts'], // video never imports worker
    ['common/types.ts', 'api/types.ts'],
    ['tools/t.ts', 'core/model/a.ts'], // a folder outside the table
  ];
  const bad: ImportGraph = new Map();
  for (const [from, to] of edges) bad.set(from, [...(bad.get(from) ?? []), to]);
  assert.deepEqual(layerViolations(bad), edges.filter(([from]) => !from.startsWith('tools/')).map(([a, b]) => `${a} → ${b}`).concat(['tools/t.ts: folder tools is not in the layer table']));
  const good: ImportGraph = new Map([
    ['core/model/a.ts', ['core/errors.ts']],
    ['cli/x.ts', ['node/files.ts', 'core/errors.ts']],
    ['node/y.ts', ['core/errors.ts']],
    ['video/z.ts', ['core/frames/pixels.ts']],
    ['worker/engine.ts', ['video/z.ts', 'common/types.ts', 'core/errors.ts']],
    ['api/pptsn.ts', ['worker/engine.ts', 'video/z.ts', 'common/types.ts']],
  ]);
  assert.deepEqual(layerViolations(good), []);
  const files = new Map([
    ['core/a.ts', "import { readFile } from 'node:fs/promises';\nexport const a = 1;"],
    ['core/b.ts', "import { join } from 'path';"],
    ['core/c.ts', 'export const w = document.createElement("canvas");'],
    ['core/d.ts', "// document.title in a comment\nconst s = 'window';\nexport const ok = 1;"],
    ['node/e.ts', "import { readFile } from 'node:fs/promises';"],
  ]);
  assert.deepEqual(coreHostUse(files), ['core/a.ts imports node:fs/promises', 'core/b.ts imports path', 'core/c.ts uses the DOM global document']);
});

test('src/ follows the layer table; the core uses no Node built-in and no DOM global', () => {
  const graph = readImportGraph(SRC);
  assert.deepEqual(layerViolations(graph), [], 'an import against docs/architecture.md\'s layer table');
  assert.deepEqual(coreHostUse(readSources(SRC)), [], 'src/core must stay isomorphic (tfjs-core only): move Node or DOM code to src/node, src/video or src/worker');
});

test('the page takes only types from worker/: the check fails on each kind of value import, and passes type-only ones', () => {
  const files = new Map([
    ['api/a.ts', "import { ModelStore } from '../worker/modelStore.js';"],
    ['api/b.ts', "import { installErrorTransport, type X } from '../worker/errorTransport.js';"],
    ['api/c.ts', "export { POOL_FRAMES } from '../worker/trainerEngine.js';"],
    ['api/d.ts', "const m = await import('../worker/engine.js');"],
    ['api/e.ts', "import '../worker/wasmThreads.js';"],
    ['api/f.ts', "import Default, { type Y } from '../worker/protocol.js';"],
    ['api/ok.ts', "import type { Engine } from '../worker/engine.js';\nimport { type EngineVideo, type EngineTensor } from '../worker/protocol.js';\nexport type { EngineInit } from '../worker/protocol.js';\ntype T = import('../worker/protocol.js').EngineReady;\n// import { no } from '../worker/comment.js';\nconst url = new URL('../worker/worker.js', import.meta.url);\nimport { a } from '../common/types.js';"],
    ['worker/g.ts', "import { h } from './h.js';"],
  ]);
  assert.deepEqual(valueImportsInto(files, 'api', 'worker').sort(), [
    'api/a.ts → worker/modelStore.ts',
    'api/b.ts → worker/errorTransport.ts',
    'api/c.ts → worker/trainerEngine.ts',
    'api/d.ts → worker/engine.ts',
    'api/e.ts → worker/wasmThreads.ts',
    'api/f.ts → worker/protocol.ts',
  ]);
});

test('src/api imports only types from src/worker (shared runtime code lives in src/common)', () => {
  assert.deepEqual(valueImportsInto(readSources(SRC), 'api', 'worker'), [], 'move the shared code to src/common, or import it with `import type`');
});

test('bench/ and demo/ have no import cycle', () => {
  for (const dir of ['bench', 'demo']) {
    const graph = readImportGraph(`${ROOT}/${dir}`);
    assert.ok(graph.size > 3, `${dir}: read ${graph.size} modules`);
    assert.deepEqual(importCycles(graph), [], `import cycles in ${dir}/`);
  }
});
