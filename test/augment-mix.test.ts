import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drawMix, mixBatch, mixImages, mixedTargets, type MixOptions } from '../src/data/mix.js';
import { Rng } from '../src/util/rng.js';

const IMAGE = 32 * 32 * 3;
const both: MixOptions = { mixupAlpha: 0.8, cutmixAlpha: 1, mixProb: 1, switchProb: 0.5, labelSmoothing: 0 };

/** `size` solid images, image i all (i + 1). */
function solidBatch(size: number): Float32Array {
  const x = new Float32Array(size * IMAGE);
  for (let i = 0; i < size; i++) x.fill(i + 1, i * IMAGE, (i + 1) * IMAGE);
  return x;
}

function rowSums(targets: Float32Array): number[] {
  return Array.from({ length: targets.length / 10 }, (_, i) => targets.subarray(10 * i, 10 * i + 10).reduce((a, b) => a + b, 0));
}

test('targets: λ·smooth(one-hot(label)) + (1 − λ)·smooth(one-hot(reversed label)), rows summing to 1', () => {
  const targets = mixedTargets(Int32Array.from([0, 1, 2]), 0.7, 0.1);
  const row = (i: number) => [...targets.subarray(10 * i, 10 * i + 10)].map((v) => Math.round(v * 1e6) / 1e6);
  // ε/K = 0.01 everywhere, plus (1 − ε) split 0.7 / 0.3 between the image's label and its partner's.
  assert.deepEqual(row(0), [0.64, 0.01, 0.28, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
  assert.deepEqual(row(1), [0.01, 0.91, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
  assert.deepEqual(row(2), [0.28, 0.01, 0.64, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
  for (const sum of rowSums(targets)) assert.ok(Math.abs(sum - 1) < 1e-6);
  assert.deepEqual([...mixedTargets(Int32Array.from([3]), 1, 0)], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
});

test('mixup blends each image with its partner in the reversed batch, with the batch λ', () => {
  const rng = new Rng(1);
  const mix = drawMix({ ...both, cutmixAlpha: 0 }, rng);
  assert.equal(mix.kind, 'mixup');
  const { lambda } = mix;
  assert.ok(lambda > 0 && lambda < 1);
  const x = solidBatch(5);
  mixImages(x, 5, mix);
  const values = [0, 1, 2, 3, 4].map((i) => x[i * IMAGE + 100]);
  const expected = [1, 2, 3, 4, 5].map((v, i, all) => lambda * v + (1 - lambda) * all[4 - i]);
  values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `image ${i}: ${v} vs ${expected[i]}`));
  assert.equal(values[2], 3, 'the middle of an odd batch meets itself');
  assert.ok(x.subarray(0, IMAGE).every((v) => v === x[0]), 'the whole image is blended');
});

test("cutmix swaps a box between partners, and λ is 1 − the box's share of the image", () => {
  const rng = new Rng(2);
  let seen = 0;
  for (let trial = 0; trial < 50; trial++) {
    const mix = drawMix({ ...both, mixupAlpha: 0 }, rng);
    assert.equal(mix.kind, 'cutmix');
    if (mix.kind !== 'cutmix') continue;
    const x = solidBatch(4);
    mixImages(x, 4, mix);
    const fromPartner = (i: number, partner: number) => x.subarray(i * IMAGE, (i + 1) * IMAGE).filter((v) => v === partner + 1).length / 3;
    const { top, bottom, left, right } = mix.box;
    const area = (bottom - top) * (right - left);
    assert.ok(top >= 0 && bottom <= 32 && left >= 0 && right <= 32 && top <= bottom && left <= right);
    assert.equal(fromPartner(0, 3), area);
    assert.equal(fromPartner(3, 0), area);
    assert.equal(fromPartner(1, 2), area);
    assert.equal(mix.lambda, 1 - area / 1024);
    // Inside the box image 0 shows image 3.
    if (area > 0) assert.equal(x[(top * 32 + left) * 3], 4);
    if (area > 0) seen++;
  }
  assert.ok(seen > 40, `${seen} of 50 boxes non-empty`);
});

test('mix_prob decides whether a batch is mixed; an unmixed batch keeps its images and gets smoothed one-hot targets', () => {
  const never = drawMix({ ...both, mixProb: 0 }, new Rng(3));
  assert.deepEqual(never, { kind: 'none', lambda: 1 });
  const x = solidBatch(2);
  const targets = mixBatch(x, Int32Array.from([4, 7]), { ...both, mixProb: 0, labelSmoothing: 0.1 }, new Rng(3));
  assert.deepEqual(x, solidBatch(2));
  assert.ok(Math.abs(targets[4] - 0.91) < 1e-6 && Math.abs(targets[10 + 7] - 0.91) < 1e-6 && Math.abs(targets[0] - 0.01) < 1e-6);

  const rng = new Rng(4);
  const mixed = Array.from({ length: 1000 }, () => drawMix({ ...both, mixProb: 0.3 }, rng).kind !== 'none').filter(Boolean).length;
  assert.ok(mixed > 250 && mixed < 350, `${mixed} of 1000 mixed at mix_prob 0.3`);
});

test('switch_prob picks cutmix over mixup when both are on', () => {
  const kinds = (switchProb: number, seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 1000 }, () => drawMix({ ...both, switchProb }, rng).kind);
  };
  assert.ok(kinds(1, 5).every((k) => k === 'cutmix'));
  assert.ok(kinds(0, 6).every((k) => k === 'mixup'));
  const cutmixes = kinds(0.5, 7).filter((k) => k === 'cutmix').length;
  assert.ok(cutmixes > 440 && cutmixes < 560, `${cutmixes} of 1000 cutmix at switch_prob 0.5`);
});

test('mixBatch: targets rows sum to 1 and follow λ; the same seed mixes the same way', () => {
  const labels = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const run = (seed: number) => {
    const x = solidBatch(8);
    const targets = mixBatch(x, labels, { ...both, labelSmoothing: 0.1 }, new Rng(seed));
    return { x, targets };
  };
  const a = run(8);
  assert.deepEqual(a, run(8));
  assert.notDeepEqual(a.targets, run(9).targets);
  for (const sum of rowSums(a.targets)) assert.ok(Math.abs(sum - 1) < 1e-6);
  // Image 0's own label weighs 0.01 + 0.9λ, its partner's 0.01 + 0.9(1 − λ).
  const lambda = (a.targets[0] - 0.01) / 0.9;
  assert.ok(Math.abs(a.targets[7] - (0.01 + 0.9 * (1 - lambda))) < 1e-6);
});
