/** Alias module: the worker imports `loadWeightFile` from here; the implementation lives in load.ts. */
export { loadWeightFile, sniffWeightFormat, type LoadedWeights } from './load.js';
