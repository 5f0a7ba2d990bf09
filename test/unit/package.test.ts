/**
 * What `npm pack` ships: each WASM binary once, no source map without its sources, `sideEffects` covering every
 * module that runs code on import, types for every export, the bundle's asset URLs pointing at shipped files, and
 * declarations an app compiles against with TypeScript's default libs.
 * Reads the built dist/ (`npm run build` first; the test builds it when missing).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  sideEffects?: string[] | boolean; exports: Record<string, string | { types?: string; import?: string }>; bin: Record<string, string>;
};
let files: Set<string>;

before(() => {
  if (!existsSync(join(ROOT, 'dist/pptsn-web.bundle.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
});

const shipped = (pattern: RegExp) => [...files].filter((f) => pattern.test(f));

test('each WASM binary ships once, where the compiled worker and the bundled worker both look', () => {
  const wasm = shipped(/\.wasm$/);
  const names = wasm.map((f) => basename(f)).sort();
  // tfjs's three backends, ffmpeg.wasm's core (the lazily loaded fallback decoder) and MozJPEG (rawframes), once each.
  assert.deepEqual(names, ['ffmpeg-core.wasm', 'mozjpeg_dec.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm'], `WASM files: ${wasm.join(', ')}`);
  // dist/worker/worker.js → ./tfjs-backend-*.wasm beside it; dist/pptsn-web.worker.js → its rewritten URLs.
  for (const n of names.filter((n) => n.startsWith('tfjs-') || n.startsWith('ffmpeg-'))) assert.ok(files.has(`dist/worker/${n}`), `dist/worker/${n}`);
  const bundled = readFileSync(join(ROOT, 'dist/pptsn-web.worker.js'), 'utf8');
  const urls = [...bundled.matchAll(/new URL\(`([^`]+\.wasm)`,\s*import\.meta\.url\)/g)].map((m) => m[1]!).filter((u) => u.includes('tfjs-backend'));
  assert.equal(urls.length, 3, 'the bundled worker names the three tfjs binaries');
  for (const u of urls) assert.ok(files.has(normalize(join('dist', u))), `the bundle's ${u} is shipped`);
});

test('every compiled module shipped is built from a file of src/ (no leftover of a moved or deleted module)', () => {
  // `npm run build` starts from an empty dist/: tsc and vite only add files, so a module moved in src/ (core/preprocess/
  // → core/frames/) stayed in dist/ under its old name and shipped (and a second mozjpeg_dec.wasm with it).
  const copied = new Set(['dist/worker/ffmpeg-core.js', 'dist/worker/tfjs-backend-wasm-threaded-simd.js']);
  const compiled = [...files].filter((f) => /^dist\/(?!pptsn-web\.).*\.(js|d\.ts)$/.test(f) && !copied.has(f));
  assert.ok(compiled.length > 50, 'the compiled modules ship');
  const orphans = compiled.filter((f) => !existsSync(join(ROOT, f.replace(/^dist\//, 'src/').replace(/\.(d\.ts|js)$/, '.ts'))));
  assert.deepEqual(orphans, [], 'shipped modules without a source in src/');
});

test('every shipped source map carries its sources, and no shipped script points at a map that is not shipped', () => {
  const maps = shipped(/\.map$/);
  assert.ok(maps.length > 0, 'maps of the compiled modules ship');
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(ROOT, m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    map.sources.forEach((s, i) => {
      const inPackage = files.has(normalize(join(dirname(m), s)));
      assert.ok(inPackage || typeof map.sourcesContent?.[i] === 'string', `${m}: source ${s} neither shipped nor inlined`);
    });
  }
  for (const js of shipped(/\.js$/)) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(ROOT, js), 'utf8'))?.[1];
    if (url && !url.startsWith('data:')) assert.ok(files.has(normalize(join(dirname(js), url))), `${js} points at ${url}, which is not shipped`);
  }
});

test('sideEffects lists every module that runs code on import, and matches shipped files', () => {
  assert.ok(Array.isArray(pkg.sideEffects), 'sideEffects is a list');
  const globs = (pkg.sideEffects as string[]).map((g) => new RegExp(`^${g.replace(/^\.\//, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`));
  const covered = (f: string) => globs.some((g) => g.test(f));
  for (const g of globs) assert.ok([...files].some((f) => g.test(f)), `${g} matches a shipped file`);
  for (const js of shipped(/^dist\/(?!pptsn-web\.).*\.js$/)) {
    const src = readFileSync(join(ROOT, js), 'utf8');
    // A bare import (registers a backend or gradients) or a top-level call statement is a side effect.
    const bare = /^import\s+['"][^'"]+['"];?$/m.test(src);
    const call = /^(?!export|import|const|let|var|function|class|async|\/\/|\/\*|\s|\}|\*)[\w.]+\(.*\);$/m.test(src);
    if (bare || call) assert.ok(covered(js), `${js} runs code on import but is not in sideEffects`);
  }
});

test('every export and the bin resolve to shipped files, with types for the API entry points', () => {
  for (const [key, target] of Object.entries(pkg.exports)) {
    const entry = typeof target === 'string' ? { import: target } : target;
    for (const path of Object.values(entry)) assert.ok(files.has(normalize(path!)), `exports["${key}"] → ${path} is shipped`);
    if (key === '.' || key === './bundle') assert.ok(entry.types && files.has(normalize(entry.types)), `exports["${key}"] has types`);
  }
  for (const path of Object.values(pkg.bin)) assert.ok(files.has(normalize(path)), `bin ${path}`);
  // Nothing from the repository's tests or tooling rides along.
  assert.deepEqual(shipped(/^(test|bench|demo|src)\//), []);
  // Test-only hooks (crash the worker, lose the WebGPU device) live in test/browser/pages/test-worker.ts.
  for (const js of shipped(/\.js$/)) assert.doesNotMatch(readFileSync(join(ROOT, js), 'utf8'), /ForTesting/, `${js} carries test-only code`);
  assert.deepEqual(shipped(/\.test\.|\.tsbuildinfo$/), []);
});

test("an app typechecks against dist's .d.ts with TypeScript's default libs (no esnext.disposable)", () => {
  // The app as `npm create vite` writes it, minus `lib` (the target's defaults) and with no @types: it calls the
  // API, including `close()` on a model whose class also declares `[Symbol.asyncDispose]`.
  const dir = mkdtempSync(join(tmpdir(), 'pptsn-types-'));
  try {
    writeFileSync(join(dir, 'app.ts'), [
      "import { PPTSN, isPPTSNError, type ClassifyResult, type LoadProgress } from 'pptsn-web';",
      "const events: LoadProgress[] = [];",
      "const model = await PPTSN.load({ model: '/models/pptsn_k400/model.json', onProgress: (p) => { events.push(p); if (p.error) console.warn(p.error.code, p.error.file, p.error.bytes); } });",
      "if (model.cacheError && isPPTSNError(model.cacheError)) console.warn(model.cacheError.bytes);",
      "const r: ClassifyResult = await model.classify('/clip.mp4', { preset: 'fast' });",
      "console.log(r.top[0]?.label, events.length);",
      "await model.close();",
      '',
    ].join('\n'));
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const check = (skipLibCheck: boolean) => {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck, types: [], paths: { 'pptsn-web': [join(ROOT, 'dist/index.d.ts')] } },
        files: ['app.ts'],
      }));
      const r = spawnSync(tsc, ['-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
      return { status: r.status, lines: `${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l)) };
    };
    // What apps run with (Vite's and most templates' skipLibCheck): no error at all.
    const usual = check(true);
    assert.deepEqual(usual.lines, [], 'the app typechecks');
    assert.equal(usual.status, 0);
    // Checking every .d.ts too: none of the errors may be in pptsn-web's own declarations or the app (TensorFlow.js's
    // own .d.ts reference `Long` and @webgpu/types, which a current lib.dom duplicates: theirs, not ours).
    const strict = check(false);
    const ours = strict.lines.filter((l) => !/node_modules[\\/]/.test(l.split('(')[0]!));
    assert.deepEqual(ours, [], "no error in dist's declarations or the app");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
