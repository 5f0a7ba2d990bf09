/**
 * A model's parameters as plain arrays, keyed by PaddleVideo's structured names (`backbone.conv1_1._conv.weight`)
 * in Paddle's layouts (conv `[O, I, kh, kw]`, fc `[in, out]`). This is the exchange type between the weight-file
 * readers/writers and the network; it holds no tfjs tensors, so it costs no backend memory.
 */
export interface ParamArray {
  shape: number[];
  data: Float32Array;
}

export type StateDict = Map<string, ParamArray>;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
