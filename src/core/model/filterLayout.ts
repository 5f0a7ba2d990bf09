/** Conv filter layouts: Paddle's OIHW and tfjs's HWIO (the trainable model holds tfjs filters, state dicts Paddle's). */

export function transposeOIHWtoHWIO(w: Float32Array, O: number, I: number, K: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < K; h++) for (let k = 0; k < K; k++) out[((h * K + k) * I + i) * O + o] = w[((o * I + i) * K + h) * K + k]!;
  return out;
}

export function transposeHWIOtoOIHW(w: Float32Array, O: number, I: number, K: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < K; h++) for (let k = 0; k < K; k++) out[((o * I + i) * K + h) * K + k] = w[((h * K + k) * I + i) * O + o]!;
  return out;
}
