/**
 * README.md's "The API in ten lines" block, for the tests that run it (test/browser/readme.test.ts) and typecheck
 * it (test/unit/readme-example.test.ts): its code without the `import` line, and the model URL it loads.
 */
import assert from 'node:assert/strict';

export function readmeBlock(readme: string): { code: string; modelUrl: string; importLine: string } {
  const at = readme.indexOf('## The API in ten lines');
  assert.ok(at >= 0, 'README has "The API in ten lines"');
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'a ```ts block follows it');
  const lines = m[1]!.split('\n');
  const importLine = lines.find((l) => l.startsWith('import '));
  assert.ok(importLine, 'the block imports pptsn-web');
  const url = /model: '([^']+)'/.exec(m[1]!);
  assert.ok(url, 'the block loads a model by URL');
  return { code: lines.filter((l) => l !== importLine).join('\n'), modelUrl: url[1]!, importLine };
}
