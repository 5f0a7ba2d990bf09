/*
 * Experiment (bench only, not used by the library): a 1x1 convolution as a GEMM in WASM SIMD128, to see whether a
 * kernel of our own could beat tfjs-backend-wasm's XNNPACK on the 1x1 convolutions that take half of a ResNet50
 * forward. out[P][K] = in[P][C] * w[C][K] + bias[K]; w is packed in panels of 8 output channels:
 * wp[(k/8)][c][8]. Register block: 6 rows x 8 columns (12 f32x4 accumulators), multiply + add (SIMD128 has no
 * FMA; relaxed SIMD's madd is not in Debian's clang 14 headers). One thread.
 * Build: bench/kernels/build.sh (clang --target=wasm32 -O3 -msimd128, no libc).
 */
#include <wasm_simd128.h>

#define MR 6
#define NR 8

__attribute__((export_name("pack")))
void pack(const float *w, float *wp, int C, int K) {
  for (int kb = 0; kb < K; kb += NR)
    for (int c = 0; c < C; c++)
      for (int j = 0; j < NR; j++) wp[(kb / NR) * C * NR + c * NR + j] = w[c * K + kb + j];
}

static inline void block(const float *a, int lda, const float *wp, int C, const float *bias, float *out, int ldo, int rows) {
  v128_t acc[MR][2];
  v128_t b0 = wasm_v128_load(bias), b1 = wasm_v128_load(bias + 4);
  for (int r = 0; r < MR; r++) { acc[r][0] = b0; acc[r][1] = b1; }
  for (int c = 0; c < C; c++) {
    v128_t w0 = wasm_v128_load(wp + c * NR), w1 = wasm_v128_load(wp + c * NR + 4);
    for (int r = 0; r < MR; r++) {
      v128_t x = wasm_f32x4_splat(a[(r < rows ? r : 0) * lda + c]);
      acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(x, w0));
      acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(x, w1));
    }
  }
  for (int r = 0; r < rows; r++) {
    wasm_v128_store(out + r * ldo, acc[r][0]);
    wasm_v128_store(out + r * ldo + 4, acc[r][1]);
  }
}

/** P x C input (row-major), packed weights, K % 8 == 0. */
__attribute__((export_name("gemm")))
void gemm(const float *in, const float *wp, const float *bias, float *out, int P, int C, int K) {
  for (int kb = 0; kb < K; kb += NR) {
    const float *panel = wp + (kb / NR) * C * NR;
    for (int p = 0; p < P; p += MR) {
      int rows = P - p < MR ? P - p : MR;
      block(in + p * C, C, panel, C, bias + kb, out + p * K + kb, K, rows);
    }
  }
}
