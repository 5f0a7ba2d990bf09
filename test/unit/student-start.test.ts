/**
 * The page trainer's student start (issue 22, `createTrainer({ depth, pretrained })`): `readPretrainedSource` reads
 * a URL (a local HTTP server here, standing in for PaddleClas's host), bytes or a Blob, and names an HTTP failure
 * as `network`; `studentStart` builds the student from the ImageNet backbone (its tensors, a placeholder head,
 * an inference network of the student's depth, no base-model hash) and refuses a depth it cannot start.
 *   node --import tsx --test test/unit/student-start.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { studentStart } from '../../src/worker/studentStart.js';
import { paddleClasPretrainedUrl, readPretrainedSource } from '../../src/api/pretrainedSource.js';
import { paddleClasBackbone } from '../helpers/pretrained.js';
import { seededStateDict } from '../helpers/seeded.js';

const file = paddleClasBackbone(18, 'new', 3);
let server: Server;
let base = '';

before(async () => {
  await initNodeBackend('cpu');
  server = createServer((req, res) => {
    if (req.url === '/dygraph/legendary_models/ResNet18_vd_pretrained.pdparams') res.writeHead(200).end(Buffer.from(file.bytes));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

after(() => server?.close());

test('readPretrainedSource: a URL, bytes, a Blob; an HTTP error is a network error saying to give the file', async () => {
  assert.equal(paddleClasPretrainedUrl(18), 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/ResNet18_vd_pretrained.pdparams');
  const got = await readPretrainedSource(`${base}/dygraph/legendary_models/ResNet18_vd_pretrained.pdparams`);
  assert.equal(got.name, 'ResNet18_vd_pretrained.pdparams');
  assert.deepEqual(got.bytes, file.bytes);
  assert.deepEqual((await readPretrainedSource(file.bytes.slice().buffer)).bytes, file.bytes);
  assert.deepEqual((await readPretrainedSource(new Blob([file.bytes as BlobPart]))).bytes, file.bytes);
  await assert.rejects(readPretrainedSource(`${base}/missing.pdparams`), (e: unknown) => isPPTSNError(e) && e.code === 'network' && /HTTP 404.*as a File/.test(e.message));
  await assert.rejects(readPretrainedSource(42 as unknown as string), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument');
});

test('studentStart: the ImageNet backbone with its own network; the model\'s own start; a depth it cannot start is refused', () => {
  const teacherSd = seededStateDict(18, 3, 9);
  const teacherRec = Recognizer.fromStateDict(teacherSd);
  const host = { stateDict: teacherSd, recognizer: teacherRec, sha256: 'abc' };
  const before = tf.memory().numTensors;
  const s = studentStart(host, { pretrained: { bytes: file.bytes, name: 'ResNet18_vd_pretrained.pdparams' }, depth: 18 });
  assert.ok(s.owned && s.host.recognizer === s.owned && s.owned.arch.depth === 18);
  assert.equal(s.host.sha256, undefined, 'a pretrained start is not the base model');
  for (const [k, v] of file.backbone) assert.deepEqual(s.host.stateDict.get(k)!.data, v.data, k);
  assert.deepEqual(s.host.stateDict.get('head.fc.weight')!.shape, [512, 1]);
  s.owned.dispose();
  assert.equal(tf.memory().numTensors, before, 'its network is freed with dispose');
  // No pretrained: the model's own start, at its own depth only.
  assert.equal(studentStart(host, {}).host, host);
  assert.equal(studentStart(host, { depth: 18 }).owned, undefined);
  assert.throws(() => studentStart(host, { depth: 34 }), (e: unknown) => isPPTSNError(e) && /ResNet34 student needs starting weights.*ResNet34_vd_pretrained/.test(e.message));
  assert.throws(() => studentStart(host, { depth: 19 }), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument');
  assert.throws(() => studentStart(host, { pretrained: { bytes: file.bytes, name: 'x.pdparams' }, depth: 34 }), (e: unknown) => isPPTSNError(e) && /ResNet18_vd backbone, but depth 34/.test(e.message));
  teacherRec.dispose();
});
