/**
 * The import graph of src/ read from the sources (every `import`/`export … from`, type-only and dynamic included),
 * and the two checks on it that test/unit/layers.test.ts runs: imports point down (nothing below the page API
 * reaches src/api) and no cycles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Module (path relative to the root, with `/`) → the modules it imports. */
export type ImportGraph = Map<string, string[]>;

/** Import specifiers in `text`: static imports and re-exports (`import type` too), side-effect and dynamic imports. */
export function importSpecifiers(text: string): string[] {
  // Comments out first, so an import in a docstring example is not taken for one.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*\s{},$]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** The graph of the .ts files under `dir` (relative imports only; packages are leaves and left out). */
export function readImportGraph(dir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const key = (p: string) => relative(dir, p).split(sep).join('/');
  for (const file of tsFiles(dir)) {
    const deps = importSpecifiers(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => key(resolve(dirname(file), s.replace(/\.js$/, '.ts'))));
    graph.set(key(file), [...new Set(deps)]);
  }
  return graph;
}

/** Edges from a folder below the page API (core, video, worker, node, cli, common) into api/. */
export function upwardImports(graph: ImportGraph, below = ['core', 'video', 'worker', 'node', 'cli', 'common'], api = 'api'): string[] {
  const bad: string[] = [];
  for (const [from, deps] of graph) {
    if (!below.includes(from.split('/')[0]!)) continue;
    for (const to of deps) if (to.split('/')[0] === api) bad.push(`${from} → ${to}`);
  }
  return bad;
}

/** Every import cycle (strongly connected component of more than one module, or a self-import), each as a path. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components; recursive (src/ is ~80 modules, the depth is small).
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/**
 * The layer table of docs/architecture.md: which folders of src/ each folder may import (itself always). Anything
 * not listed is an upward or sideways import. `(root)` is src/index.ts and src/csp.ts, the package entry.
 */
export const LAYER_TABLE: Readonly<Record<string, readonly string[]>> = {
  core: [],
  common: ['core'],
  video: ['core'],
  node: ['core'],
  cli: ['node', 'core'],
  worker: ['video', 'common', 'core'],
  api: ['worker', 'video', 'common', 'core'],
  '(root)': ['api', 'common', 'core'],
};

const folderOf = (module: string) => (module.includes('/') ? module.split('/')[0]! : '(root)');

/** Imports that break LAYER_TABLE, as `from → to` (a folder missing from the table is reported too). */
export function layerViolations(graph: ImportGraph, table: Readonly<Record<string, readonly string[]>> = LAYER_TABLE): string[] {
  const bad: string[] = [];
  for (const [from, deps] of graph) {
    const a = folderOf(from);
    const allowed = table[a];
    if (!allowed) {
      bad.push(`${from}: folder ${a} is not in the layer table`);
      continue;
    }
    for (const to of deps) {
      const b = folderOf(to);
      if (b !== a && !allowed.includes(b)) bad.push(`${from} → ${to}`);
    }
  }
  return bad;
}

/** Node built-in modules (with or without `node:`), which the isomorphic core may not import. */
const NODE_BUILTINS = /^(node:|(fs|path|os|url|child_process|worker_threads|crypto|stream|util|events|buffer|module|http|https|net|zlib|process|readline|perf_hooks|v8|vm|assert|tty|dns|cluster)(\/|$))/;

/** DOM globals the core may not touch (it runs in a worker and in Node alike). */
const DOM_GLOBALS = /\b(document|window|navigator|HTMLElement|HTMLVideoElement|HTMLCanvasElement|HTMLImageElement|localStorage|indexedDB|caches)\b/;

/**
 * Node and DOM use in the core: a package import of a Node built-in, or a DOM global in code (comments stripped).
 * `files` maps module → source text.
 */
export function coreHostUse(files: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [module, text] of files) {
    if (folderOf(module) !== 'core') continue;
    for (const s of importSpecifiers(text)) if (NODE_BUILTINS.test(s)) bad.push(`${module} imports ${s}`);
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1').replace(/(['"`])(?:\\.|(?!\1).)*\1/g, '""');
    const m = DOM_GLOBALS.exec(code);
    if (m) bad.push(`${module} uses the DOM global ${m[1]}`);
  }
  return bad;
}

/**
 * Imports that load code (not type-only) from folder `from` into folder `to`, as `module → target`: the page
 * (api/) may take only types from worker/, whose code runs in the worker (the spawn URL is not an import).
 * Type-only: `import type`/`export type`, a brace list whose every name is marked `type`, and `import('…').T` in a
 * type. `files` maps module → source text.
 */
export function valueImportsInto(files: ReadonlyMap<string, string>, from: string, to: string): string[] {
  const bad: string[] = [];
  for (const [module, text] of files) {
    if (folderOf(module) !== from) continue;
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
    const target = (spec: string) => {
      if (!spec.startsWith('.')) return null;
      const parts = module.split('/').slice(0, -1);
      for (const seg of spec.replace(/\.js$/, '.ts').split('/')) {
        if (seg === '..') parts.pop();
        else if (seg !== '.') parts.push(seg);
      }
      const t = parts.join('/');
      return folderOf(t) === to ? t : null;
    };
    for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?([\w*\s{},$]*?)\bfrom\s*['"]([^'"]+)['"]/g)) {
      const t = target(m[4]!);
      if (!t || m[2]) continue;
      const list = /\{([^}]*)\}/.exec(m[3]!);
      const names = list ? list[1]!.split(',').map((n) => n.trim()).filter(Boolean) : [];
      const onlyTypes = list !== null && !/^\s*\w/.test(m[3]!.replace(/\{[^}]*\}/, '').replace(/,/g, '')) && names.every((n) => n.startsWith('type '));
      if (!onlyTypes) bad.push(`${module} → ${t}`);
    }
    for (const m of code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g)) {
      const t = target(m[1]!);
      if (t) bad.push(`${module} → ${t}`);
    }
    for (const m of code.matchAll(/\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)*['"]([^'"]+)['"]\s*\)(\s*\.)?/g)) {
      const t = target(m[1]!);
      if (t && !m[2]) bad.push(`${module} → ${t}`);
    }
  }
  return bad;
}

/** module → source text of the .ts files under `dir`. */
export function readSources(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of tsFiles(dir)) out.set(relative(dir, file).split(sep).join('/'), readFileSync(file, 'utf8'));
  return out;
}
