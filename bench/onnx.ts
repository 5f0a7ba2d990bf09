/**
 * The benchmark's ONNX model of PP-TSN (onnxruntime-web row): the library's writer, src/node/onnx/pptsn.ts
 * (protobuf by hand, no dependency; BN folded as our Recognizer does). Outputs `logits` [N, classes] and `feat`.
 */
export { ppTSNToOnnx } from '../src/node/onnx/pptsn.js';
