/**
 * The benchmark's ONNX model of PP-TSN (onnxruntime-web row): the library's writer, src/node/onnx/pptsn.ts
 * (protobuf by hand, no dependency; BN folded as our Recognizer does), with `logits` [N, classes] as its only output.
 */
import type { Depth } from '../src/core/model/arch.js';
import type { StateDict } from '../src/core/stateDict.js';
import { ppTSNToOnnx as write } from '../src/node/onnx/pptsn.js';

export function ppTSNToOnnx(sd: StateDict, depth: Depth, numClasses: number): Uint8Array {
  return write(sd, depth, numClasses, { features: 'none' });
}
