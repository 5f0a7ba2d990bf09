/**
 * The worker entry: exposes an `Engine` through comlink. The API spawns it as a module worker with
 * `new Worker(new URL('../worker/worker.js', import.meta.url), { type: 'module' })`, the pattern Vite and webpack
 * bundle on their own. Frames of Blob/URL sources are read here (mediabunny + WebCodecs work in workers).
 */
import { expose } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransport } from '../common/errorTransport.js';
import { workerFrameReader } from './frameReader.js';

installErrorTransport();

expose(new Engine(workerFrameReader));
