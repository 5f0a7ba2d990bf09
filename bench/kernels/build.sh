#!/usr/bin/env bash
# Builds bench/kernels/gemm.wasm from gemm.c with Debian's clang + wasm-ld (apt-get install clang lld).
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32 -O3 -msimd128 -nostdlib -Wl,--no-entry -Wl,--import-memory -Wl,--initial-memory=268435456 -o "${OUT:-/tmp}/pptsn-gemm.wasm" gemm.c
echo "${OUT:-/tmp}/pptsn-gemm.wasm"
