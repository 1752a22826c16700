// Summarizes bench/compare.sh's runs (one JSON line each: {run, config, result}): per config,
// the median img/s, one-image latency and peak RSS of each contender, and ours/PyTorch and
// ours/ONNX Runtime as the median, min and max of the per-round ratios (ours against their run of
// the same round). With two PyTorch variants, each round's ratio is against the variant whose
// median is faster. ONNX Runtime only infers: its ratios are inference and latency.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const [file, ...configs] = process.argv.slice(2);
const runs = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fixed = (x, digits = 1) => x.toFixed(digits);
const TEMPORARY = { 'default.json': 'default ({})', 'cct-adamw.json': 'configs/cpu-1h.json with AdamW' };
const label = (config) => (config.includes('tmp') && TEMPORARY[basename(config)]) || config;

for (const config of configs) {
  const of = (name) => runs.filter((r) => r.config === config && r.run === name).map((r) => r.result);
  const ours = of('ours');
  const torches = ['pytorch-passive', 'pytorch-default-omp'].map((name) => [name, of(name)]).filter(([, rs]) => rs.length > 0);
  console.log(`\n${label(config)}: batch ${ours[0].batch}, ${ours.length} rounds of ${ours[0].steps} steps`);
  // Both sides count the model's FLOPs on their own (PyTorch's by forward hooks for the convnets).
  const torchFlops = torches[0][1][0].flops_per_image;
  console.log(`${ours[0].params.toLocaleString('en')} parameters (PyTorch: ${torches[0][1][0].params.toLocaleString('en')}), ${(ours[0].flops_per_image / 1e9).toFixed(3)} GFLOPs per image forward (PyTorch: ${torchFlops === undefined ? '?' : (torchFlops / 1e9).toFixed(3)})`);
  const onnxruntime = of('onnxruntime');
  console.log(`${''.padEnd(22)}${'train img/s'.padStart(12)}${'infer img/s'.padStart(12)}${'1 image ms'.padStart(12)}${'peak RSS MB'.padStart(13)}   (medians)`);
  const contenders = [['ours (wasm)', ours], ...torches, ...(onnxruntime.length ? [['onnxruntime', onnxruntime]] : [])];
  for (const [name, rs] of contenders) {
    const m = (key, digits = 1) => (rs.every((r) => r[key] !== undefined) ? fixed(median(rs.map((r) => r[key])), digits) : '—');
    console.log(`${name.padEnd(22)}${m('train_images_per_second').padStart(12)}${m('infer_images_per_second').padStart(12)}${m('infer_latency_ms', 2).padStart(12)}${m('peak_rss_mb', 0).padStart(13)}`);
  }
  for (const [key, what] of [['train_images_per_second', 'train'], ['infer_images_per_second', 'inference']]) {
    const [name, torch] = torches.reduce((best, t) => (median(t[1].map((r) => r[key])) > median(best[1].map((r) => r[key])) ? t : best));
    const ratios = ours.map((r, i) => r[key] / torch[i][key]);
    console.log(`ratio ours/${name} ${what.padEnd(9)}: median ${fixed(median(ratios), 2)}, min ${fixed(Math.min(...ratios), 2)}, max ${fixed(Math.max(...ratios), 2)}`);
  }
  if (onnxruntime.length) {
    for (const [key, what] of [['infer_images_per_second', 'inference'], ['infer_latency_ms', 'latency']]) {
      const ratios = ours.map((r, i) => r[key] / onnxruntime[i][key]);
      console.log(`ratio ours/onnxruntime ${what.padEnd(9)}: median ${fixed(median(ratios), 2)}, min ${fixed(Math.min(...ratios), 2)}, max ${fixed(Math.max(...ratios), 2)}${key === 'infer_latency_ms' ? ' (below 1: ours answers sooner)' : ''}`);
    }
  }
  const rss = (rs) => median(rs.map((r) => r.peak_rss_mb));
  console.log(`peak RSS ours/pytorch-passive: ${fixed(rss(ours) / rss(torches[0][1]), 2)}`);
  // MFU against the SGEMM peak vit bench measured (cached) through the same GEMM and threads.
  const mfu = (key) => `${fixed(100 * median(ours.map((r) => r[key])), 0)}%`;
  console.log(`ours MFU (peak ${fixed(ours[0].peak_gflops, 0)} GFLOP/s): train ${mfu('train_mfu')}, inference ${mfu('infer_mfu')}`);
}
