#!/usr/bin/env bash
# Ours (vit bench on wasm) against PyTorch on the CPU, and for inference against ONNX Runtime on
# the same model as `vit export` writes it (bench/onnxruntime_reference.ts: CPU execution
# provider, as many threads as vit, every graph optimisation on), interleaved: each round runs the
# three back to back on each config (who goes first alternates by round), so all see the same
# machine load; the summary gives medians, the median of the per-round ratios ours/theirs, and
# their min/max, for training, inference at the config's batch and one image alone (latency),
# with peak RSS.
#
# Usage: bench/compare.sh [CONFIG...]   (default: configs/bench-small.json, the default config
#        (ViT-Lite-7/4), the main job's CCT-2/3x2: configs/cpu-1h.json with AdamW, since
#        PyTorch 1.13 has no Muon, and a row per convolutional family: the presets
#        configs/k/convmixer.json, convmixer-256-8.json and res18.json, with kentaroy47's
#        models/*.py on the PyTorch side)
#   ROUNDS=N          rounds per config (default 3)
#   STEPS=N           timed steps per run (default 10), after 2 warm-up steps
#   TORCH_OMP_DEFAULT=1  also run PyTorch with libgomp's default (busy-waiting) OpenMP; the ratio
#                     is then against the faster of the two PyTorch medians
#   VIT_BENCH_FLAGS   extra flags for vit bench
#   TORCH_BLAS_AS_INSTALLED=1  leave PyTorch's OpenBLAS to pick its own kernels (see below)
# PyTorch always runs with OMP_WAIT_POLICY=PASSIVE (faster on 2 cores), and with OpenBLAS's best
# kernel set for this CPU (OPENBLAS_CORETYPE=SkylakeX with AVX-512, Haswell with AVX2, whatever
# the environment says): OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to SSE3
# kernels ~3x slower; vit's own GEMM picks AVX-512 or AVX2 by itself. Needs Debian's
# python3-torch at /usr/bin/python3 and libopenblas0-pthread (`npm run setup -- --tests`).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
steps=(--steps "${STEPS:-10}" --warmup 2)
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -eq 0 ]; then
  echo '{}' > "$work/default.json"
  node -e 'const c = JSON.parse(require("fs").readFileSync("configs/cpu-1h.json", "utf8")); c.optimizer.name = "adamw"; console.log(JSON.stringify(c))' > "$work/cct-adamw.json"
  set -- configs/bench-small.json "$work/default.json" "$work/cct-adamw.json" configs/k/convmixer.json configs/k/convmixer-256-8.json configs/k/res18.json
fi
for config in "$@"; do [ -f "$config" ] || { echo "compare.sh: no config file $config" >&2; exit 2; }; done

# run NAME CONFIG COMMAND...: appends {"run": NAME, "config": CONFIG, ...bench JSON} to results.
run() {
  local name=$1 config=$2 line
  shift 2
  if ! line=$("$@" | tail -n 1) || [[ "$line" != \{* ]]; then
    echo "compare.sh: $name on $config failed (last line: ${line:-nothing})" >&2
    exit 1
  fi
  printf '{"run":"%s","config":"%s","result":%s}\n' "$name" "$config" "$line" >> "$work/results.jsonl"
  echo "  $name: $(node -e 'const r = JSON.parse(process.argv[1]); console.log(`train ${r.train_images_per_second?.toFixed(1) ?? "-"} img/s, inference ${r.infer_images_per_second.toFixed(1)} img/s, one image ${r.infer_latency_ms.toFixed(2)} ms, peak RSS ${r.peak_rss_mb.toFixed(0)} MB`)' "$line")" >&2
}
onnxruntime() { run onnxruntime "$1" node --import tsx bench/onnxruntime_reference.ts --config "$1" --json "${steps[@]}"; }
ours() { run ours "$1" node --import tsx src/cli.ts bench --config "$1" --backend wasm --json "${steps[@]}" ${VIT_BENCH_FLAGS:-}; }
# OpenBLAS's best kernel set for this CPU, from its features.
blas_core=""
if [ "${TORCH_BLAS_AS_INSTALLED:-0}" != 1 ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512dq* && $flags == *avx512vl* ]]; then blas_core=SkylakeX
  elif [[ $flags == *avx2* && $flags == *fma* ]]; then blas_core=Haswell
  fi
fi
echo "PyTorch's OpenBLAS kernels: ${blas_core:-as installed}" >&2
blas_env=()
[ -n "$blas_core" ] && blas_env=(OPENBLAS_CORETYPE="$blas_core")
torch() {
  run pytorch-passive "$1" env OMP_WAIT_POLICY=PASSIVE "${blas_env[@]}" /usr/bin/python3 bench/pytorch_reference.py --config "$1" --json "${steps[@]}"
  if [ "${TORCH_OMP_DEFAULT:-0}" = 1 ]; then
    run pytorch-default-omp "$1" env "${blas_env[@]}" /usr/bin/python3 bench/pytorch_reference.py --config "$1" --json "${steps[@]}"
  fi
}

for ((round = 1; round <= rounds; round++)); do
  for config in "$@"; do
    echo "round $round/$rounds, $config" >&2
    if ((round % 2)); then ours "$config"; torch "$config"; onnxruntime "$config"; else onnxruntime "$config"; torch "$config"; ours "$config"; fi
  done
done

node bench/compare-summary.mjs "$work/results.jsonl" "$@"
