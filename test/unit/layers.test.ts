/**
 * The layering of src/ (README "Layers", docs/architecture.md): imports point down — nothing in core, video,
 * worker, node, cli or common reaches src/api (shared page/worker types live in src/common/types.ts) — and there is
 * no import cycle anywhere in src/, type-only imports included. Read from the sources, so a new file is covered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { importCycles, importSpecifiers, readImportGraph, upwardImports, type ImportGraph } from '../helpers/importGraph.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

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
