export { PPTSNError, isPPTSNError, type PPTSNErrorCode } from './core/errors.js';
export { archSpec, paramSpecs, DEPTHS, type Depth, type ArchSpec } from './core/model/arch.js';
export type { StateDict, ParamArray } from './core/stateDict.js';
