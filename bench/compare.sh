#!/usr/bin/env bash
# Ours (vit bench on wasm) against PyTorch on the CPU, back to back on the same config, and the
# ratios ours/PyTorch for training and inference. PyTorch runs twice: with libgomp's default
# (busy-waiting) OpenMP threads and with OMP_WAIT_POLICY=PASSIVE; the headline ratio is against
# the faster of the two. Usage: bench/compare.sh [CONFIG] (default configs/bench-small.json);
# extra vit bench flags via VIT_BENCH_FLAGS, e.g. VIT_BENCH_FLAGS="--steps 20".
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/bench-small.json}"
steps=(--steps "${STEPS:-10}" --warmup 2)

ours=$(node --import tsx src/cli.ts bench --config "$config" --backend wasm --json "${steps[@]}" ${VIT_BENCH_FLAGS:-} | tail -n 1)
torch_default=$(/usr/bin/python3 bench/pytorch_reference.py --config "$config" --json "${steps[@]}")
torch_passive=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/pytorch_reference.py --config "$config" --json "${steps[@]}")

node -e '
const [config, ...runs] = process.argv.slice(1);
const [ours, torchDefault, torchPassive] = runs.map((r) => JSON.parse(r));
const best = (key) => Math.max(torchDefault[key], torchPassive[key]);
const row = (name, r) => `${name.padEnd(34)} ${r.train_images_per_second.toFixed(1).padStart(8)} ${r.infer_images_per_second.toFixed(1).padStart(10)} ${r.peak_rss_mb.toFixed(0).padStart(8)}`;
console.log(`config ${config}, batch ${ours.batch}`);
console.log(`${"".padEnd(34)} ${"train/s".padStart(8)} ${"infer/s".padStart(10)} ${"RSS MB".padStart(8)}`);
console.log(row(`ours (${ours.backend})`, ours));
console.log(row("pytorch, default OpenMP", torchDefault));
console.log(row("pytorch, OMP_WAIT_POLICY=PASSIVE", torchPassive));
const ratio = (key) => (ours[key] / best(key)).toFixed(2);
console.log(`ratio ours/pytorch (faster of the two): train ${ratio("train_images_per_second")}, inference ${ratio("infer_images_per_second")}`);
' "$config" "$ours" "$torch_default" "$torch_passive"
