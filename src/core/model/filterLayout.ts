/** Conv filter layouts: Paddle's OIHW and tfjs's HWIO (the trainable model holds tfjs filters, state dicts Paddle's). */

export function transposeOIHWtoHWIO(w: Float32Array, O: number, I: number, K: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < K; h++) for (let k = 0; k < K; k++) out[((h * K + k) * I + i) * O + o] = w[((o * I + i) * K + h) * K + k]!;
  return out;
}

/**
 * HWIO `[K, K, I, O]` → OIHW `[O, I, K, K]`, per tap an `[I, O]` → `[O, I]` transpose in 32×32 tiles (both sides
 * stay in cache): ~1.6 ns an element against ~4–6 for the plain loop, which matters where it runs every training step
 * (the CLI's onnxruntime pass feeds ResNet50's 23.5 M filter values as OIHW: src/node/train/ortPass.ts). Into `out`
 * when given (reused: a fresh array that size costs more in page faults than the transpose).
 */
export function transposeHWIOtoOIHW(w: Float32Array, O: number, I: number, K: number, out = new Float32Array(w.length)): Float32Array {
  const KK = K * K;
  const B = 32;
  for (let t = 0; t < KK; t++) {
    const base = t * I * O;
    for (let i0 = 0; i0 < I; i0 += B) {
      const i1 = Math.min(I, i0 + B);
      for (let o0 = 0; o0 < O; o0 += B) {
        const o1 = Math.min(O, o0 + B);
        for (let o = o0; o < o1; o++) {
          const dst = o * I * KK + t;
          for (let i = i0; i < i1; i++) out[dst + i * KK] = w[base + i * O + o]!;
        }
      }
    }
  }
  return out;
}
