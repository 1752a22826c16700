import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { swinStages } from '../src/families/swin/config.js';
import { positionBias, windowAttention } from '../src/families/swin/model.js';
import { cyclicShift, displacement, edgeMask, relativePositionGather, shiftedWindowMask } from '../src/families/swin/windows.js';
import { countParams, forwardFlops, modelName } from '../src/model/index.js';
import { Rng } from '../src/util/rng.js';

/**
 * The Swin family's own checks: shifted-window attention (the cyclic shift, the window partition,
 * the masks, the relative position bias) against a plain per-token reference written from the
 * paper's definition, the masks against berniwal's slices, and the preset's size counted by hand.
 * (PyTorch parity: test/families.test.ts and test/pytorch-import.test.ts.)
 */
before(async () => {
  await tf.setBackend('cpu');
});

const PRESET = 'configs/k/swin.json';

test("configs/k/swin.json is train_cifar10.py's swin_t(window_size=4, downscaling_factors=(2,2,2,1)), with PyTorch's parameter count", () => {
  const { model } = loadConfig(PRESET, []);
  assert.equal(modelName(model), 'Swin-T');
  // /usr/bin/python3 bench/reference_swin.py (PyTorch 1.13; the masks, not trained, are not counted).
  assert.equal(countParams(model), 26_598_646);
  assert.deepEqual(swinStages(model as never).map((s) => [s.side, s.dim]), [[16, 96], [8, 192], [4, 384], [4, 768]]);
});

test('forwardFlops of configs/k/swin.json counts every patch merging, block and the head by hand', () => {
  const { model } = loadConfig(PRESET, []);
  // Per block on n tokens of width dim, heads·32 = dim wide inside: qkv, q·kᵀ and ·v within 4×4 windows (16 keys per query), out, MLP (4·dim).
  const block = (n: number, dim: number, heads: number) => n * dim * 3 * dim + 2 * heads * n * 16 * 32 + n * dim * dim + 2 * n * dim * 4 * dim;
  const stage1 = 16 * 16 * (3 * 2 * 2) * 96 + 2 * block(256, 96, 3); // 2×2 merging of the 32×32 image → 16×16
  const stage2 = 8 * 8 * (96 * 4) * 192 + 2 * block(64, 192, 6);
  const stage3 = 4 * 4 * (192 * 4) * 384 + 6 * block(16, 384, 12);
  const stage4 = 4 * 4 * 384 * 768 + 2 * block(16, 768, 24); // factor 1: a Linear per token
  const head = 768 * 10;
  assert.equal(forwardFlops(model), 2 * (stage1 + stage2 + stage3 + stage4 + head));
  assert.equal(forwardFlops(model), 1_056_783_360);
});

test('the schema refuses odd blocks per stage and grids the windows do not tile', () => {
  const message = (model: object) => {
    try {
      parseConfig({ model: { name: 'swin', ...model } }, 'c.json');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.match(message({ layers: [2, 3, 2, 2] }), /model\.layers: stage 2 has 3 blocks/);
  assert.match(message({ window_size: 3 }), /model\.window_size: must divide stage 1's 16×16 grid/);
  assert.match(message({ downscaling_factors: [2, 2, 3, 1] }), /model\.downscaling_factors: stage 3 merges 3×3 patches of a 8×8 grid/);
  assert.equal(message({ window_size: 2, downscaling_factors: [4, 2, 2, 1] }), 'accepted');
});

test('cyclicShift is torch.roll on both spatial axes: out[i][j] = x[(i − s) mod n][(j − s) mod n]', () => {
  const n = 5;
  const x = tf.tensor4d(Float32Array.from({ length: 2 * n * n * 3 }, (_, i) => i), [2, n, n, 3]);
  const values = x.arraySync();
  for (const s of [-2, 1, 3, 7]) {
    const rolled = cyclicShift(x, s).arraySync();
    const mod = (i: number) => (((i - s) % n) + n) % n;
    for (let b = 0; b < 2; b++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.deepEqual(rolled[b][i][j], values[b][mod(i)][mod(j)], `shift ${s} at ${i},${j}`);
  }
  x.dispose();
});

test("the two masks are berniwal's create_mask: mask[-d·w:, :-d·w] and mask[:-d·w, -d·w:] (rows), the same per row of the window (columns)", () => {
  for (const w of [2, 3, 4, 7]) {
    const d = displacement(w);
    const rows = edgeMask(w, 'rows');
    const columns = edgeMask(w, 'columns');
    const cut = w * w - d * w;
    for (let i = 0; i < w * w; i++) {
      for (let j = 0; j < w * w; j++) {
        const upperLower = (i >= cut && j < cut) || (i < cut && j >= cut);
        const [ci, cj] = [i % w, j % w];
        const leftRight = (ci >= w - d && cj < w - d) || (ci < w - d && cj >= w - d);
        assert.equal(rows[i * w * w + j], upperLower ? -Infinity : 0, `w ${w} rows ${i},${j}`);
        assert.equal(columns[i * w * w + j], leftRight ? -Infinity : 0, `w ${w} columns ${i},${j}`);
      }
    }
  }
});

test("each shifted window's mask keeps apart exactly the pieces of different regions (the paper's img_mask: [0, n−w), [n−w, n−d), [n−d, n) per axis)", () => {
  for (const [w, n] of [[4, 8], [4, 4], [3, 9], [2, 8]]) {
    const d = displacement(w);
    const region = (r: number) => (r < n - w ? 0 : r < n - d ? 1 : 2);
    const mask = shiftedWindowMask(w, n);
    const perSide = n / w;
    for (let window = 0; window < perSide * perSide; window++) {
      const [wr, wc] = [Math.floor(window / perSide), window % perSide];
      const label = (t: number) => `${region(wr * w + Math.floor(t / w))},${region(wc * w + (t % w))}`;
      for (let i = 0; i < w * w; i++) {
        for (let j = 0; j < w * w; j++) {
          const value = mask[(window * w * w + i) * w * w + j];
          assert.equal(value, label(i) === label(j) ? 0 : -Infinity, `w ${w}, n ${n}, window ${window}, ${i} → ${j}`);
        }
      }
    }
  }
});

/**
 * Window attention from the definition, one query at a time, in the grid's own coordinates: the
 * query at (R, C) sits at (r, c) = (R − s, C − s) mod n of the rolled grid; it attends to the keys of
 * its w × w window there that lie in the same region, with the bias table's entry for their offset
 * (relative) or for the pair of in-window positions (absolute). Then heads are concatenated and projected.
 */
function plainWindowAttention(x: number[][][], wqkv: number[][], wout: number[][], bout: number[], table: number[][], o: { heads: number; d: number; w: number; shifted: boolean; relative: boolean }): number[][][] {
  const n = x.length;
  const inner = o.heads * o.d;
  const s = o.shifted ? displacement(o.w) : 0;
  const region = (r: number) => (!o.shifted ? 0 : r < n - o.w ? 0 : r < n - s ? 1 : 2);
  const project = (v: number[], m: number[][], from: number, count: number) => Array.from({ length: count }, (_, k) => v.reduce((sum, vi, i) => sum + vi * m[i][from + k], 0));
  const mod = (i: number) => ((i % n) + n) % n;
  const out: number[][][] = [];
  for (let R = 0; R < n; R++) {
    out.push([]);
    for (let C = 0; C < n; C++) {
      const [r, c] = [mod(R - s), mod(C - s)];
      const keys: [number, number][] = [];
      for (let R2 = 0; R2 < n; R2++) {
        for (let C2 = 0; C2 < n; C2++) {
          const [r2, c2] = [mod(R2 - s), mod(C2 - s)];
          const sameWindow = Math.floor(r2 / o.w) === Math.floor(r / o.w) && Math.floor(c2 / o.w) === Math.floor(c / o.w);
          if (sameWindow && region(r2) === region(r) && region(c2) === region(c)) keys.push([R2, C2]);
        }
      }
      const concatenated: number[] = [];
      for (let h = 0; h < o.heads; h++) {
        const q = project(x[R][C], wqkv, h * o.d, o.d);
        const logits = keys.map(([R2, C2]) => {
          const k = project(x[R2][C2], wqkv, inner + h * o.d, o.d);
          const [r2, c2] = [mod(R2 - s), mod(C2 - s)];
          const bias = o.relative
            ? table[r2 - r + o.w - 1][c2 - c + o.w - 1]
            : table[(r % o.w) * o.w + (c % o.w)][(r2 % o.w) * o.w + (c2 % o.w)];
          return q.reduce((sum, qi, i) => sum + qi * k[i], 0) / Math.sqrt(o.d) + bias;
        });
        const top = Math.max(...logits);
        const weights = logits.map((l) => Math.exp(l - top));
        const total = weights.reduce((a, b) => a + b, 0);
        const head = new Array<number>(o.d).fill(0);
        keys.forEach(([R2, C2], m) => project(x[R2][C2], wqkv, 2 * inner + h * o.d, o.d).forEach((v, i) => (head[i] += (weights[m] / total) * v)));
        concatenated.push(...head);
      }
      out[R].push(project(concatenated, wout, 0, wout[0].length).map((v, k) => v + bout[k]));
    }
  }
  return out;
}

const ATTENTION_CASES = [
  { what: 'regular, 2×2 windows of 4×4', n: 8, w: 4, shifted: false, relative: true },
  { what: 'shifted, 2×2 windows of 4×4', n: 8, w: 4, shifted: true, relative: true },
  { what: 'shifted, one 4×4 window (both masks on it)', n: 4, w: 4, shifted: true, relative: true },
  { what: 'shifted, 2×2 windows of 3×3 (shift 1)', n: 6, w: 3, shifted: true, relative: true },
  { what: 'shifted, 4×4 windows of 2×2, absolute position bias', n: 8, w: 2, shifted: true, relative: false },
];

for (const c of ATTENTION_CASES) {
  test(`window attention (${c.what}) is the plain per-query definition`, () => {
    const [dim, heads, d] = [5, 2, 3];
    const inner = heads * d;
    const rng = new Rng(c.n * 10 + c.w);
    const random = (...shape: number[]): number[] | number[][] => (shape.length === 1 ? Array.from({ length: shape[0] }, () => rng.uniform(-1, 1)) : Array.from({ length: shape[0] }, () => random(...shape.slice(1)) as number[]));
    const x = Array.from({ length: c.n }, () => random(c.n, dim) as number[][]);
    const wqkv = random(dim, 3 * inner) as number[][];
    const wout = random(inner, dim) as number[][];
    const bout = random(dim) as number[];
    const side = c.relative ? 2 * c.w - 1 : c.w * c.w;
    const table = random(side, side) as number[][];

    const weights: Record<string, tf.Tensor> = { 'attn.qkv.weight': tf.tensor(wqkv), 'attn.out.weight': tf.tensor(wout), 'attn.out.bias': tf.tensor(bout) };
    const actual = tf.tidy(() => {
      const gather = c.relative ? relativePositionGather(c.w) : null;
      const bias = positionBias(tf.tensor(table), gather, c.w);
      const mask = tf.tensor3d(shiftedWindowMask(c.w, c.n), [(c.n / c.w) ** 2, c.w * c.w, c.w * c.w]);
      const settings = { heads, headDim: d, windowSize: c.w, shift: c.shifted ? displacement(c.w) : 0 };
      return windowAttention(tf.tensor4d([x]), (name) => weights[name], settings, c.shifted ? tf.add(bias, mask) : bias).arraySync() as number[][][][];
    });
    tf.dispose(Object.values(weights));
    const expected = plainWindowAttention(x, wqkv, wout, bout, table, { heads, d, w: c.w, shifted: c.shifted, relative: c.relative });
    let worst = 0;
    expected.forEach((row, R) => row.forEach((token, C) => token.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - actual[0][R][C][k]))))));
    assert.ok(worst < 1e-5, `max |Δ| = ${worst}`);
  });
}
