#!/usr/bin/env bash
# bench/gpu-session.sh: `npm run bench -- --gpu` for one GPU session with a 15-minute device budget: a preflight
# (under a minute), then the network section (tfjs-webgpu vs PyTorch CUDA inference, ≤ 3 min) and the train section
# (one training step per strategy, chromium-webgpu vs pytorch-cuda, ≤ 5 min) as two bench runs, each under its own
# `timeout`, so a slow or stuck train section still leaves the network figures. Everything lands in $OUT:
#   env.txt            what the preflight found (GPU, driver, Vulkan loader and ICD, Node, Chromium, PyTorch)
#   gpu-network.json   the bench report of `--sections network` (+ gpu-network.log)
#   gpu-train.json     the bench report of `--sections train` (+ gpu-train.log)
#
#   OUT=/tmp/gpu bash bench/gpu-session.sh               # on the GPU machine, from the repo root
#   OUT=/tmp/gpu bash bench/gpu-session.sh --dry-run     # the same steps on SwiftShader (`--gpu-dry-run`), no GPU
#   OUT=/tmp/gpu bash bench/gpu-session.sh -- --train-images 4,16,32   # extra bench options for both runs
#
# What the machine must have (the preflight checks each and names what is missing; nothing is fetched unless
# node_modules is absent, then `npm ci` is tried once, which needs the npm registry):
# - this repo's working tree with node_modules installed (`npm ci`); a machine without network needs it carried;
# - Node ≥ 20 on PATH;
# - Chromium: $PPTSN_CHROMIUM, else /usr/bin/chromium, else chromium or chromium-browser on PATH, with its shared
#   libraries (`ldd` of it finds them all);
# - a Vulkan loader (libvulkan.so.1: Debian's Chromium ships one beside its binary) and the GPU's Vulkan ICD: when VK_DRIVER_FILES is unset and the NVIDIA ICD
#   sits where container images mount it (/usr/local/nvidia/share/vulkan/icd.d, /etc/vulkan/icd.d,
#   /usr/share/vulkan/icd.d), VK_DRIVER_FILES is set to it;
# - a Python with CUDA PyTorch: $PPTSN_PYTHON, else the first of python3 on PATH and /usr/bin/python3 that imports
#   torch (passed to the bench as PPTSN_PYTHON).
# Sizes (depth 50, 224 px, inference chunks 1,8,32 × 5 reps, train images 4,16 × 3 reps per strategy) are meant to
# fit ~8 minutes on an H100-class GPU, most of it shader compilation and warm-up; bench/README.md, "GPU mode".
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-bench/results/gpu-session}"
mkdir -p "$OUT"
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
if [[ "${1:-}" == "--" ]]; then shift; fi
ENV="$OUT/env.txt"
: >"$ENV"
note() { echo "$*" | tee -a "$ENV"; }
fail() { note "gpu-session: $*"; exit 1; }

note "gpu-session $(date -u +%FT%TZ) dry-run=$DRY repo $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$ENV"
elif [[ $DRY == 0 ]]; then
  fail "nvidia-smi not found: this is not an NVIDIA GPU machine (use --dry-run to check the plumbing on SwiftShader)"
fi

# Node and the repo's packages.
command -v node >/dev/null || fail "node not found on PATH (Node ≥ 20 is needed)"
note "node: $(node --version)"
if [[ ! -e node_modules/.bin/tsx || ! -d node_modules/playwright-core ]]; then
  note "node_modules missing: trying npm ci (needs the npm registry)"
  timeout 300 npm ci --no-audit --no-fund >>"$ENV" 2>&1 || fail "npm ci failed (no network?): carry this repo's node_modules to the machine"
fi

# Chromium.
CHROME="${PPTSN_CHROMIUM:-}"
for c in /usr/bin/chromium "$(command -v chromium || true)" "$(command -v chromium-browser || true)"; do
  [[ -z "$CHROME" && -n "$c" && -x "$c" ]] && CHROME="$c"
done
[[ -n "$CHROME" ]] || fail "no Chromium: install it (Debian: apt-get install chromium) or set PPTSN_CHROMIUM"
export PPTSN_CHROMIUM="$CHROME"
note "chromium: $CHROME $("$CHROME" --version 2>/dev/null | head -1)"
BIN="$(readlink -f "$CHROME")"
# Debian's /usr/bin/chromium is a wrapper script around /usr/lib/chromium/chromium.
[[ "$(head -c 2 "$BIN")" == '#!' && -x /usr/lib/chromium/chromium ]] && BIN=/usr/lib/chromium/chromium
MISSING="$(ldd "$BIN" 2>/dev/null | grep 'not found' | awk '{print $1}' | tr '\n' ' ')"
[[ -z "$MISSING" ]] || fail "Chromium's shared libraries are missing: $MISSING"

# Vulkan: loader and ICD (WebGPU runs on Dawn's Vulkan backend; bench/gpu.ts GPU_CHROMIUM_FLAGS).
if [[ $DRY == 0 ]]; then
  # Debian's Chromium ships its own loader beside the binary; otherwise the system's.
  LOADER="$(dirname "$BIN")/libvulkan.so.1"
  [[ -f "$LOADER" ]] || LOADER="$(ldconfig -p 2>/dev/null | grep -m1 libvulkan.so.1 | awk '{print $NF}')"
  [[ -n "$LOADER" ]] || fail "no Vulkan loader (libvulkan.so.1): install libvulkan1 (device README: carry it as .gl)"
  if [[ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
      if [[ -f "$icd" ]]; then export VK_DRIVER_FILES="$icd"; break; fi
    done
  fi
  note "vulkan: loader $LOADER, VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"
  [[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json && -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ]] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

# PyTorch with CUDA (the anchor); without it the bench skips the pytorch-cuda rows and says why.
PY=""
for p in "${PPTSN_PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3; do
  [[ -z "$PY" && -n "$p" && -x "$p" ]] && "$p" -c 'import torch' 2>/dev/null && PY="$p"
done
if [[ -n "$PY" ]]; then
  export PPTSN_PYTHON="$PY"
  note "pytorch: $PY $("$PY" -c 'import torch; print(torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "")' 2>&1)"
else
  note "pytorch: no Python that imports torch (the pytorch-cuda rows will be skipped)"
fi

if [[ $DRY == 1 ]]; then
  COMMON=(--gpu --gpu-dry-run)
  NET=(--sections network)
  TRAIN=(--sections train)
else
  COMMON=(--gpu --depth 50)
  NET=(--sections network --gpu-chunks 1,8,32 --gpu-reps 5)
  TRAIN=(--sections train --train-strategies head,last-stage,full --train-images 4,16 --train-reps 3)
fi

run() { # name, seconds, bench args…
  local name="$1" secs="$2"
  shift 2
  note "bench $name: npm run bench -- $* (timeout ${secs} s)"
  local t0=$SECONDS
  timeout --kill-after=10 "$secs" npm run bench -- "$@" --out "$OUT/gpu-$name.json" >"$OUT/gpu-$name.log" 2>&1
  local rc=$?
  note "bench $name: exit $rc after $((SECONDS - t0)) s$([[ $rc == 124 || $rc == 137 ]] && echo ' (timed out: the log has the reps so far)')"
  return $rc
}

run network 180 "${COMMON[@]}" "${NET[@]}" "$@"
NET_RC=$?
if [[ $NET_RC != 0 ]] && grep -q -- '--gpu: ' "$OUT/gpu-network.log"; then
  grep -m1 -- '--gpu: ' "$OUT/gpu-network.log" | tee -a "$ENV"
  fail "no hardware WebGPU adapter: the train run would stop the same way"
fi
run train 300 "${COMMON[@]}" "${TRAIN[@]}" "$@"
TRAIN_RC=$?
note "done: network exit $NET_RC, train exit $TRAIN_RC; reports in $OUT"
[[ $NET_RC == 0 && $TRAIN_RC == 0 ]]
