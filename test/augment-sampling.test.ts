import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beta, normal } from '../src/data/sampling.js';
import { Rng } from '../src/util/rng.js';

function moments(samples: number[]): { mean: number; variance: number } {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { mean, variance: samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length };
}

const draws = (n: number, draw: () => number) => Array.from({ length: n }, draw);

test('normal samples have mean 0 and variance 1', () => {
  const rng = new Rng(1);
  const { mean, variance } = moments(draws(20_000, () => normal(rng)));
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.04, `variance ${variance}`);
});

test('beta samples have the Beta(a, b) mean a / (a + b) and variance ab / ((a + b)²(a + b + 1))', () => {
  const rng = new Rng(2);
  for (const [a, b] of [[1, 1], [0.2, 0.2], [0.8, 0.8], [2, 5]]) {
    const samples = draws(20_000, () => beta(rng, a, b));
    assert.ok(samples.every((s) => s >= 0 && s <= 1), `Beta(${a}, ${b}) outside [0, 1]`);
    const { mean, variance } = moments(samples);
    const expectedVariance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    assert.ok(Math.abs(mean - a / (a + b)) < 0.01, `Beta(${a}, ${b}) mean ${mean}`);
    assert.ok(Math.abs(variance - expectedVariance) < 0.1 * expectedVariance, `Beta(${a}, ${b}) variance ${variance}, expected ${expectedVariance}`);
  }
});

test('a tiny shape gives values at the ends of [0, 1], never NaN', () => {
  const rng = new Rng(3);
  const samples = draws(2_000, () => beta(rng, 0.01, 0.01));
  assert.ok(samples.every((s) => s >= 0 && s <= 1), 'every sample in [0, 1]');
  // P(X < 10⁻³) ≈ (10⁻³)^α / (α·B(α, α)) ≈ 0.933 / 2 for α = 0.01, on each side.
  const atEnds = samples.filter((s) => s < 1e-3 || s > 1 - 1e-3).length;
  assert.ok(atEnds > 1_800, `${atEnds} of 2000 within 10⁻³ of 0 or 1`);
  const low = samples.filter((s) => s < 0.5).length;
  assert.ok(low > 850 && low < 1_150, `${low} of 2000 below ½ (symmetric)`);
});

test('the same seed gives the same samples', () => {
  const a = new Rng(9), b = new Rng(9);
  assert.deepEqual(draws(50, () => beta(a, 0.8, 0.8)), draws(50, () => beta(b, 0.8, 0.8)));
});
